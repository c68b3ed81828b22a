/* expand_gen on several threads: the search of one machine's cores (`--threads N`), over a
 * model's generated C. Included by store.c after store_gen.c.
 *
 * The states [i, stop) of one BFS level are expanded in two phases that run at once:
 *  1. On every thread, without the GIL: take the next block of states, run the generated
 *     successor function on them, canonicalise, pack and hash every successor, and look it up
 *     in the store. One stored already is dropped (about half are), and so is one that another
 *     state of the same block keeps already; the others are kept, in order, with their packed
 *     key and the mask of the invariants that do not hold of them (their values are not kept:
 *     phase 2 unpacks the key where an invariant needs them). The graph-keeping search keeps every successor as an edge: the index of the state
 *     found, or the row to store.
 *  2. On this thread, state by state in order, as soon as a state's block is done: store its
 *     kept successors (and write its edges) and check the new ones exactly as expand_gen does (the same look-up,
 *     insert, invariant check, call to on_broken and stopping points). So every state gets the
 *     same index and parent as in the one-thread search, and every counterexample is the same.
 *     While its next block is not done, this thread does phase 1 too.
 * Phase 1 reads the store while phase 2 writes it. A new state's key is written before the
 * table entry that points at it (a release store), so a reader that sees the entry sees the
 * key; a reader that misses a new entry only keeps a successor that phase 2 then finds. Phase 1
 * drops only what is surely stored: a state once stored stays stored. What moves memory (a
 * larger table or key array, a wider layout) waits for phase 1 to be out of the store (a
 * read-write lock that each block holds for reading).
 * A state that phase 1 cannot do alone (a statement left in Python, a step error, a value its
 * packed position cannot hold, no memory) is marked, and phase 2 expands it with gen_state. */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>

#define PAR_BLOCK 32 /* states a thread takes at a time */
#define PAR_MAX_THREADS 256
#define PAR_REDO (-1)
#define PAR_LOCAL 2048 /* slots of a thread's set of the successors its block keeps */
#define PAR_LINE 128 /* bytes of a cache line (two, where the prefetcher takes pairs) */

/* Where the generated code's successors go in phase 1 (passed to it as its KgenOut). */
typedef struct {
    int64_t *buf; /* rows of width values and the action */
    Py_ssize_t n, cap, width;
} ParEmit;

/* One block's phase-1 answer, written by one thread, then read by phase 2. */
typedef struct {
    int64_t *rows; /* kept successors, `stride` each: hash, packed key, invariants' mask */
    Py_ssize_t nrows, cap;
    Py_ssize_t widened; /* the store's layout when they were packed (S->widened) */
    int64_t *edges;     /* the graph-keeping search: every successor, see par_edge */
    Py_ssize_t nedges, capedges;
    atomic_int done;
    char pad[PAR_LINE]; /* two threads' blocks are never on one cache line */
} ParBlock;

typedef struct ParShared ParShared;

typedef struct {
    ParShared *P;
    /* the store as phase 2 left it when this thread took its block: its layout, table and keys
     * stay put until the block is done, and phase 2's writes to S->n and the like (on the same
     * cache line) do not take the line from under every look-up */
    Store S;
    ParEmit e;
    int64_t *s, *crow;
    uint64_t *w, *key;
    /* a state's successors packed ahead, each one's table entry fetched (store_gen.c, "looked
     * up side by side"); malloc'd, as everything a thread without the GIL allocates. Keys are
     * P->kw words apart; form 1: a value does not fit its position */
    Ahead a;
    /* the rows its block keeps (row + 1; 0 free), by hash: a successor that another state of
     * the block keeps already is dropped here, not looked up again by phase 2 */
    uint32_t local[PAR_LOCAL];
    int nlocal;
    char pad[PAR_LINE]; /* what two threads write is never on one cache line */
} ParThread;

struct ParShared {
    Store *S;
    const KgenModel *M;
    const KcanonApi *C;
    Py_ssize_t first, count; /* states [first, first + count) */
    int tagged;              /* the graph-keeping search: every successor is an edge */
    Py_ssize_t nblocks;
    Py_ssize_t stride, kw; /* a kept row's int64s; its key's words */
    /* phase 2's pending invariants as a mask (bit k: invariant k), for the ids it was made from
     * (held, so that no later list can take its address); all ones when one is past 63 or not
     * all are translated (ids None) */
    PyObject *mask_ids;
    uint64_t pending;
    ParBlock *blocks;
    int32_t *trans;    /* per state: its transitions, or PAR_REDO */
    Py_ssize_t *begin; /* per state: its first kept row (tagged: its first edge) in its block */
    int32_t *kept;     /* per state: how many rows it kept */
    char pad0[PAR_LINE];
    atomic_long next; /* the next block to take */
    char pad1[PAR_LINE];
    atomic_int quit; /* phase 2 stopped: take no more blocks */
    char pad2[PAR_LINE];
    pthread_rwlock_t lock; /* phase 1 reads the store under it; memory moves under its write */
    ParThread *T;
    int nthreads;
};

static int par_emit(KgenOut *out, int aid, const int64_t *st) {
    ParEmit *e = (ParEmit *)(void *)out;
    if (e->n == e->cap) {
        Py_ssize_t cap = e->cap ? e->cap * 2 : 64;
        int64_t *b = realloc(e->buf, (size_t)cap * (size_t)(e->width + 1) * sizeof(int64_t));
        if (!b) return -1; /* the state is redone in phase 2, which reports the error */
        e->buf = b;
        e->cap = cap;
    }
    int64_t *row = e->buf + e->n * (e->width + 1);
    memcpy(row, st, sizeof(int64_t) * (size_t)e->width);
    row[e->width] = aid;
    e->n++;
    return 0;
}

/* A statement left in Python needs the GIL: answer "redo the state" (phase 2 does it). */
static int par_python(KgenOut *out, int k) {
    (void)out;
    (void)k;
    return 1;
}

static const KgenOps par_ops = {par_emit, par_python};

/* The index of the state whose key (hash h) is `key`, or -1 (*slot then the empty slot).
 * Safe beside phase 2's par_store: entries are loaded with acquire. */
static Py_ssize_t par_probe(const Store *S, uint64_t h, const uint64_t *key, size_t *slot) {
    size_t mask = S->tsize - 1, pos = home(S, h);
    uint64_t tag = h >> 32;
    for (;;) {
        uint64_t e = __atomic_load_n(&S->table[pos], __ATOMIC_ACQUIRE);
        if (e == 0) {
            *slot = pos;
            return -1;
        }
        if ((e >> 32) == tag) {
            Py_ssize_t idx = (Py_ssize_t)(uint32_t)e - 1;
            if (memcmp(S->keys + idx * S->keylen, key, (size_t)S->keylen) == 0) return idx;
        }
        pos = (pos + 1) & mask;
    }
}

/* Pack row into key with the store's layout (hash in *h) and look it up: its index, -1 not
 * stored, -2 a value its position cannot hold. */
static Py_ssize_t par_find(const Store *S, const int64_t *row, uint64_t *key, uint64_t *h) {
    size_t slot;
    if (pack_key(S, row, key) >= 0) return -2;
    *h = hash_key(key, S->nwords);
    return par_probe(S, *h, key, &slot);
}

/* An edge of the graph-keeping search in a block: its target's index when phase 1 found it,
 * else -1 - the kept row to store; and its action. 0, or -1 when out of memory. */
static int par_edge(ParBlock *b, int64_t target, int64_t aid) {
    if (b->nedges == b->capedges) {
        Py_ssize_t cap = b->capedges ? b->capedges * 2 : 8 * PAR_BLOCK;
        int64_t *e = realloc(b->edges, sizeof(int64_t) * (size_t)cap);
        if (!e) return -1;
        b->edges = e;
        b->capedges = cap;
    }
    b->edges[b->nedges++] = target * 64 + aid; /* aid < 64: the graph search's rule */
    return 0;
}

/* The row of block b whose key is t->key (hash h), or -1 (then the row about to be kept,
 * b->nrows, is entered, while the set is less than half full). */
static Py_ssize_t par_local(ParThread *t, const ParBlock *b, uint64_t h) {
    const ParShared *P = t->P;
    size_t pos = (size_t)h & (PAR_LOCAL - 1);
    for (;;) {
        uint32_t e = t->local[pos];
        if (e == 0) break;
        const int64_t *row = b->rows + (Py_ssize_t)(e - 1) * P->stride;
        if ((uint64_t)row[0] == h && memcmp(row + 1, t->key, sizeof(uint64_t) * (size_t)P->kw) == 0)
            return e - 1;
        pos = (pos + 1) & (PAR_LOCAL - 1);
    }
    if (t->nlocal < PAR_LOCAL / 2) {
        t->local[pos] = (uint32_t)(b->nrows + 1);
        t->nlocal++;
    }
    return -1;
}

/* The invariants that do not hold of `row` or need Python (bit k: invariant k), all of them
 * past 63 invariants. */
static uint64_t par_invariants(const KgenModel *M, const int64_t *row) {
    if (M->ninv > 64) return ~(uint64_t)0;
    uint64_t bad = 0;
    for (int k = 0; k < M->ninv; k++)
        if (M->inv(k, (int64_t *)row) != 1) bad |= (uint64_t)1 << k;
    return bad;
}

/* Phase 1 on state j of the range, into block b: 0, or -1 when out of memory. */
static void par_state(ParThread *t, ParBlock *b, Py_ssize_t j) {
    ParShared *P = t->P;
    const Store *S = &t->S;
    Py_ssize_t width = S->width;
    memset(t->w, 0, sizeof(uint64_t) * (size_t)(S->nwords + 1));
    if (S->keylen) memcpy(t->w, S->keys + (P->first + j) * S->keylen, (size_t)S->keylen);
    for (Py_ssize_t f = 0; f < width; f++) t->s[f] = get_field(S, t->w, f);
    Py_ssize_t mark = b->nrows, emark = b->nedges;
    P->begin[j] = P->tagged ? emark : mark;
    P->kept[j] = 0;
    P->trans[j] = PAR_REDO;
    t->e.n = 0;
    if (S->nwords + 1 > P->kw) return; /* widened: its keys no longer fit a kept row */
    int (*succ)(int64_t *, const KgenOps *, KgenOut *) = P->tagged ? P->M->tagged : P->M->succ;
    if (succ(t->s, &par_ops, (KgenOut *)(void *)&t->e) != 0) return;
    Py_ssize_t kw = S->nwords + 1, n = t->e.n;
    if (ahead_grow(&t->a, n, P->kw, realloc) < 0) goto redo;
    for (Py_ssize_t k = 0; k < n; k++) {
        uint64_t *key = t->a.keys + k * kw;
        t->a.form[k] = pack_key(S, t->e.buf + k * (width + 1), key) >= 0; /* 1: does not fit */
        if (t->a.form[k]) continue;
        t->a.hash[k] = hash_key(key, S->nwords);
        __builtin_prefetch(S->table + home(S, t->a.hash[k]));
    }
    for (Py_ssize_t k = 0; k < n; k++) {
        int64_t *row = t->e.buf + k * (width + 1);
        int64_t aid = row[width];
        uint64_t h = t->a.hash[k];
        size_t slot;
        Py_ssize_t f = -2; /* a value its position cannot hold: phase 2 redoes the state */
        if (!t->a.form[k]) {
            memcpy(t->key, t->a.keys + k * kw, sizeof(uint64_t) * (size_t)kw);
            f = par_probe(S, h, t->key, &slot);
        }
        if (f == -1 && P->C) {
            memcpy(t->crow, row, sizeof(int64_t) * (size_t)(width + 1));
            P->C->canon(P->C->plan, (long *)t->crow);
            row = t->crow;
            f = par_find(S, row, t->key, &h);
        }
        if (f == -2 || (P->tagged && (aid < 0 || aid >= 64))) goto redo;
        if (f >= 0) {
            if (P->tagged && par_edge(b, f, aid) < 0) goto redo;
            continue;
        }
        Py_ssize_t twin = par_local(t, b, h);
        if (twin >= 0) { /* kept already by this block: phase 2 stores it before this one */
            if (P->tagged && par_edge(b, -1 - twin, aid) < 0) goto redo;
            continue;
        }
        if (P->tagged && par_edge(b, -1 - b->nrows, aid) < 0) goto redo;
        if (b->nrows == b->cap) {
            Py_ssize_t cap = b->cap ? b->cap * 2 : 4 * PAR_BLOCK;
            int64_t *r = realloc(b->rows, (size_t)cap * (size_t)P->stride * sizeof(int64_t));
            if (!r) goto redo;
            b->rows = r;
            b->cap = cap;
        }
        /* the packed key, not the row: phase 2 stores the key, and needs the values only where
         * an invariant does not hold (it unpacks them then); the invariants are checked here */
        int64_t *keep = b->rows + b->nrows * P->stride;
        keep[0] = (int64_t)h;
        memcpy(keep + 1, t->key, sizeof(uint64_t) * (size_t)P->kw);
        keep[1 + P->kw] = P->tagged ? 0 : (int64_t)par_invariants(P->M, row);
        b->nrows++;
    }
    P->trans[j] = (int32_t)t->e.n;
    P->kept[j] = (int32_t)(b->nrows - mark);
    return;
redo:
    b->nrows = mark;
    b->nedges = emark;
    memset(t->local, 0, sizeof t->local); /* it may name the rows just given back */
    t->nlocal = 0;
}

/* Take the next block and do phase 1 on it: 0, or 1 when there is none left. */
static int par_take(ParThread *t) {
    ParShared *P = t->P;
    if (atomic_load(&P->quit)) return 1;
    Py_ssize_t k = (Py_ssize_t)atomic_fetch_add(&P->next, 1);
    if (k >= P->nblocks) return 1;
    ParBlock *b = &P->blocks[k];
    Py_ssize_t lo = k * PAR_BLOCK, hi = lo + PAR_BLOCK < P->count ? lo + PAR_BLOCK : P->count;
    pthread_rwlock_rdlock(&P->lock);
    memcpy(&t->S, P->S, sizeof(Store));
    b->widened = t->S.widened;
    memset(t->local, 0, sizeof t->local);
    t->nlocal = 0;
    for (Py_ssize_t j = lo; j < hi; j++) par_state(t, b, j);
    pthread_rwlock_unlock(&P->lock);
    atomic_store_explicit(&b->done, 1, memory_order_release);
    return 0;
}

static void *par_worker(void *arg) {
    while (par_take(arg) == 0) {
    }
    return NULL;
}

/* Phase 2's wait for block k: this thread does phase 1 on later blocks meanwhile. */
static void par_wait(ParShared *P, Py_ssize_t k) {
    if (atomic_load_explicit(&P->blocks[k].done, memory_order_acquire)) return;
    Py_BEGIN_ALLOW_THREADS;
    while (!atomic_load_explicit(&P->blocks[k].done, memory_order_acquire))
        if (par_take(&P->T[0]) != 0) sched_yield();
    Py_END_ALLOW_THREADS;
}

/* Does storing one more state move the store's memory (see reserve_one)? */
static int par_moves(const Store *S) {
    return (size_t)(S->n + 1) * 10 > S->tsize * 7 || S->n == S->cap;
}

/* Phase 2's store of a kept successor (already canonical, packed with the store's layout as
 * it is) of state par: its index, or -1 with an error set; *fresh 1 when it is new (then the
 * last state of the store). */
static Py_ssize_t par_store(GenRun *g, ParShared *P, const int64_t *row, Py_ssize_t par,
                            int *fresh) {
    Store *S = g->S;
    size_t slot;
    Py_ssize_t idx;
    *fresh = 0;
    uint64_t h = (uint64_t)row[0];
    const uint64_t *key = (const uint64_t *)(row + 1);
    if ((idx = par_probe(S, h, key, &slot)) >= 0) return idx;
    if (par_moves(S)) {
        pthread_rwlock_wrlock(&P->lock);
        int bad = reserve_one(S);
        pthread_rwlock_unlock(&P->lock);
        if (bad < 0) return -1;
        par_probe(S, h, key, &slot); /* the table may be another one now */
    }
    idx = S->n;
    if (S->keylen) memcpy(S->keys + idx * S->keylen, key, (size_t)S->keylen);
    S->parent[idx] = (int32_t)par;
    S->n++;
    __atomic_store_n(&S->table[slot], ((h >> 32) << 32) | (uint64_t)(idx + 1), __ATOMIC_RELEASE);
    *fresh = 1;
    return idx;
}

/* Zeroed memory on cache lines of its own (a thread's scratch): NULL when there is none. */
static void *par_alloc(size_t n) {
    n = (n + PAR_LINE - 1) / PAR_LINE * PAR_LINE;
    void *p = aligned_alloc(PAR_LINE, n);
    if (p) memset(p, 0, n);
    return p;
}

static void par_free(ParShared *P) {
    Py_CLEAR(P->mask_ids);
    if (P->T)
        for (int k = 0; k < P->nthreads; k++) {
            free(P->T[k].e.buf);
            free(P->T[k].s);
            free(P->T[k].crow);
            free(P->T[k].w);
            free(P->T[k].key);
            ahead_release(&P->T[k].a, free);
        }
    if (P->blocks)
        for (Py_ssize_t k = 0; k < P->nblocks; k++) {
            free(P->blocks[k].rows);
            free(P->blocks[k].edges);
        }
    free(P->T);
    free(P->blocks);
    PyMem_Free(P->trans);
    PyMem_Free(P->begin);
    PyMem_Free(P->kept);
}

/* Memory for states [first, first + count): 0, or -1 with an error set. */
static int par_setup(ParShared *P, Store *S) {
    Py_ssize_t width = S->width, words = S->nwords + 1;
    P->kw = words;
    P->stride = 1 + words + 1;
    P->nblocks = (P->count + PAR_BLOCK - 1) / PAR_BLOCK;
    P->T = par_alloc((size_t)P->nthreads * sizeof(ParThread));
    P->blocks = par_alloc((size_t)P->nblocks * sizeof(ParBlock));
    P->trans = PyMem_Malloc(sizeof(int32_t) * (size_t)P->count);
    P->begin = PyMem_Malloc(sizeof(Py_ssize_t) * (size_t)P->count);
    P->kept = PyMem_Malloc(sizeof(int32_t) * (size_t)P->count);
    if (!P->T || !P->blocks || !P->trans || !P->begin || !P->kept) goto nomem;
    for (int k = 0; k < P->nthreads; k++) {
        ParThread *t = &P->T[k];
        t->P = P;
        t->e.width = width;
        t->s = par_alloc(sizeof(int64_t) * (size_t)(width + 1));
        t->crow = par_alloc(sizeof(int64_t) * (size_t)(width + 1));
        /* room for the widest layout: phase 2 may widen it between two blocks */
        t->w = par_alloc(sizeof(uint64_t) * (size_t)(width + 2));
        t->key = par_alloc(sizeof(uint64_t) * (size_t)(width + 2));
        if (!t->s || !t->crow || !t->w || !t->key) goto nomem;
    }
    return 0;
nomem:
    PyErr_NoMemory();
    return -1;
}

/* Is the new state kept as `row` (stored at idx) fine? As gen_check, which it calls with the
 * state's values unpacked from its key only when a pending invariant was not found to hold in
 * phase 1: 1 yes, 0 no, -1 error. */
static int par_check(ParShared *P, GenRun *g, const int64_t *row, Py_ssize_t idx) {
    if (g->check == Py_None) return 1;
    if (P->mask_ids != g->ids) { /* on_broken replaced them: the mask anew */
        P->pending = 0;
        Py_XSETREF(P->mask_ids, Py_NewRef(g->ids));
        if (g->ids == Py_None) P->pending = ~(uint64_t)0;
        for (Py_ssize_t j = 0; g->ids != Py_None && j < PyList_GET_SIZE(g->ids); j++) {
            long k = PyLong_AsLong(PyList_GET_ITEM(g->ids, j));
            if (k == -1 && PyErr_Occurred()) return -1;
            P->pending |= k >= 0 && k < 64 ? (uint64_t)1 << k : ~(uint64_t)0;
        }
    }
    if (((uint64_t)row[1 + P->kw] & P->pending) == 0) return 1;
    Store *S = g->S;
    for (Py_ssize_t f = 0; f < S->width; f++)
        g->crow[f] = get_field(S, (const uint64_t *)(row + 1), f);
    return gen_check(g->M, g->crow, idx, S->width, &g->check, &g->ids, g->on_broken,
                     g->step_error);
}

/* Phase 2 on state j (index i): 0 done, 1 a step failed, 2 no successor (and the run stops
 * there), -1 error; as gen_state. A state whose block was packed with another layout than the
 * store's now (a state redone before it widened a position) is redone too. */
static int par_phase2(ParShared *P, GenRun *g, Py_ssize_t j, Py_ssize_t i) {
    ParBlock *b = &P->blocks[j / PAR_BLOCK];
    if (P->trans[j] == PAR_REDO || b->widened != g->S->widened) {
        pthread_rwlock_wrlock(&P->lock);
        int r = gen_state(g, i);
        pthread_rwlock_unlock(&P->lock);
        return r;
    }
    g->transitions += P->trans[j];
    if (P->trans[j] == 0 && g->stop_when_dead) return 2;
    const int64_t *rows = b->rows + P->begin[j] * P->stride;
    for (int32_t k = 0; k < P->kept[j]; k++) /* their entries fetched ahead, as in phase 1 */
        __builtin_prefetch(g->S->table + home(g->S, (uint64_t)rows[k * P->stride]));
    for (int32_t k = 0; k < P->kept[j]; k++) {
        const int64_t *row = rows + k * P->stride;
        int fresh;
        Py_ssize_t idx = par_store(g, P, row, i, &fresh);
        if (idx < 0) return -1;
        if (fresh && par_check(P, g, row, idx) < 0) return -1;
    }
    return 0;
}

/* Phase 2 of the graph-keeping search on state j (index i), as gen_state_tagged: 0 done, 1 a
 * step failed, -1 error. */
static int par_phase2_tagged(ParShared *P, GenRun *g, Py_ssize_t j, Py_ssize_t i, TagOut *t) {
    ParBlock *b = &P->blocks[j / PAR_BLOCK];
    if (P->trans[j] == PAR_REDO || b->widened != g->S->widened) {
        pthread_rwlock_wrlock(&P->lock);
        int r = gen_state_tagged(g, i, t);
        pthread_rwlock_unlock(&P->lock);
        return r;
    }
    g->transitions += P->trans[j];
    Py_ssize_t before = g->S->n;
    uint64_t mask = 0;
    const int64_t *edges = b->edges + P->begin[j];
    for (int32_t k = 0; k < P->trans[j]; k++) {
        int64_t aid = edges[k] & 63, target = (edges[k] - aid) / 64;
        if (target < 0) { /* a kept row: store it, or find it stored since */
            int fresh;
            const int64_t *row = b->rows + (-1 - target) * P->stride;
            if ((target = par_store(g, P, row, i, &fresh)) < 0) return -1;
        }
        if (tag_edge(t, (Py_ssize_t)target, aid) < 0) return -1;
        mask |= (uint64_t)1 << aid;
    }
    if (tag_state(t, P->trans[j], mask) < 0) return -1;
    return tag_check_new(g, before);
}

/* The search over `threads` threads: expand_gen_par's and expand_gen_par_tagged's body. */
static PyObject *par_search(Store *S, PyObject *const *args, Py_ssize_t nargs, int tagged) {
    if (nargs != 13) {
        PyErr_Format(PyExc_TypeError, "%s() takes 13 arguments",
                     tagged ? "expand_gen_par_tagged" : "expand_gen_par");
        return NULL;
    }
    long nthreads = PyLong_AsLong(args[12]);
    if (nthreads == -1 && PyErr_Occurred()) return NULL;
    if (nthreads < 1 || nthreads > PAR_MAX_THREADS) {
        PyErr_Format(PyExc_ValueError, "threads must be 1 to %d", PAR_MAX_THREADS);
        return NULL;
    }
    GenRun g;
    TagOut t;
    memset(&t, 0, sizeof t);
    /* on cache lines of its own: this thread's locals change all the time, and the others
     * read P on every state */
    ParShared *P = par_alloc(sizeof(ParShared));
    if (!P) return PyErr_NoMemory();
    P->nthreads = (int)nthreads;
    P->tagged = tagged;
    pthread_t tids[PAR_MAX_THREADS];
    int started = 0, locked = 0, failed = 0, bad = 0;
    Py_ssize_t i, stop, max_states;
    long long flags;
    if (gen_start(&g, S, args, &i, &stop, &max_states, &flags) < 0) goto error;
    /* the graph-keeping search's argument 10 is its edge_base; it stops for nothing else */
    int stop_when_clear = !tagged && (flags & 1) != 0;
    if (tagged) {
        g.o.tagged = 1;
        g.stop_when_dead = 0;
        t.edge_end = flags;
    }
    Py_ssize_t end = stop < S->n ? stop : S->n;
    if (i >= end) goto done;
    P->S = S;
    P->M = g.M;
    P->C = g.C;
    P->first = i;
    P->count = end - i;
    if (par_setup(P, S) < 0) goto error;
    pthread_rwlockattr_t attr;
    pthread_rwlockattr_init(&attr);
    /* phase 2 waits for the readers to leave, and no new reader may pass it meanwhile */
    pthread_rwlockattr_setkind_np(&attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
    bad = pthread_rwlock_init(&P->lock, &attr);
    pthread_rwlockattr_destroy(&attr);
    if (bad) {
        PyErr_SetString(PyExc_OSError, "cannot make the threads' lock");
        goto error;
    }
    locked = 1;
    for (int k = 1; k < P->nthreads && k < P->nblocks; k++) {
        if (pthread_create(&tids[k], NULL, par_worker, &P->T[k]) != 0) break;
        started = k;
    }
    for (Py_ssize_t j = 0; j < P->count; j++) {
        par_wait(P, j / PAR_BLOCK);
        int r = tagged ? par_phase2_tagged(P, &g, j, i, &t) : par_phase2(P, &g, j, i);
        if (r < 0) {
            bad = 1;
            break;
        }
        if (gen_stops(&g, r, &i, &failed, max_states, stop_when_clear)) break;
    }
    atomic_store(&P->quit, 1);
    Py_BEGIN_ALLOW_THREADS;
    for (int k = 1; k <= started; k++) pthread_join(tids[k], NULL);
    Py_END_ALLOW_THREADS;
    if (bad) goto error;
done:;
    PyObject *out = tagged ? tag_answer(i, g.transitions, failed, &t)
                           : Py_BuildValue("nLi", i, g.transitions, failed);
    if (locked) pthread_rwlock_destroy(&P->lock);
    par_free(P);
    free(P);
    tag_free(&t);
    gen_done(&g);
    return out;
error:
    if (locked) pthread_rwlock_destroy(&P->lock);
    par_free(P);
    free(P);
    tag_free(&t);
    gen_done(&g);
    return NULL;
}

/* expand_gen_par(model, start, stop, fallbacks, succ, check, ids, on_broken, step_error,
 * max_states, flags, canon, threads) -> (next, transitions, failed): expand_gen on `threads`
 * threads, with the same answers, store and calls to on_broken. */
static PyObject *store_expand_gen_par(Store *S, PyObject *const *args, Py_ssize_t nargs) {
    return par_search(S, args, nargs, 0);
}

/* expand_gen_par_tagged(model, start, stop, fallbacks, tagged, check, ids, on_broken,
 * step_error, max_states, edge_base, canon, threads): expand_gen_tagged on `threads` threads,
 * with the same answers, store, edges and calls to on_broken. */
static PyObject *store_expand_gen_par_tagged(Store *S, PyObject *const *args, Py_ssize_t nargs) {
    return par_search(S, args, nargs, 1);
}
