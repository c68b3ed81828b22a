/* One worker's share of the distributed search (kcheck/distributed/native_partition.py) over
 * the model's generated C and this store. Included by store.c after store_gen.c.
 *
 *  route:  expand the partition's states of the level, in ascending global id, and store each
 *          successor this partition owns at once when it is new (the next level's first
 *          states); send every other, canonical, to the partition that owns it, each once
 *          under its least discovery key (parent's global id << 24 | its place in the
 *          parent's successor list).
 *  merge:  take what was sent here into that level, each state once under its least key, and
 *          answer the level's keys in order (the order the driver numbers its states in) with
 *          where each state is stored; check the pending invariants on it in that order.
 *
 * States travel in their wire form: packed by the wire layout W, a store that holds nothing and
 * never widens, made from the same plan as every worker's store. Each worker's own store
 * widens a position where a value needs it, so its packing may drift from the others'; the
 * wire layout stays the same everywhere. A state with a value W cannot hold travels "wide", as
 * its int64 values. Its owner is its wire hash modulo the partitions (hash_key of the wire key,
 * or of the values when wide): the same in every process. A batch (wire_header, then the
 * narrow states' keys and packed forms, then the wide ones' keys and values) is what
 * kcheck/distributed/codec.py names a native batch; encode_batch/decode_batch make and read
 * them for the driver and the tests. */

#define DIST_KEY_SHIFT 24 /* partition.py's KEY_SHIFT */

typedef struct {
    int64_t narrow, wide, width, keylen;
} WireHeader;

/* `row`'s wire form: 0 narrow (its key in wkey, nwords + 1 words), 1 wide; its hash in *h. */
static int wire_of(const Store *W, const int64_t *row, uint64_t *wkey, uint64_t *h) {
    if (pack_key(W, row, wkey) < 0) {
        *h = hash_key(wkey, W->nwords);
        return 0;
    }
    *h = hash_key((const uint64_t *)row, W->width);
    return 1;
}

/* The values of a narrow wire key (keylen bytes at rec) into row. */
static void wire_row(const Store *W, const unsigned char *rec, uint64_t *w, int64_t *row) {
    memset(w, 0, sizeof(uint64_t) * (size_t)(W->nwords + 1));
    if (W->keylen) memcpy(w, rec, (size_t)W->keylen);
    for (Py_ssize_t f = 0; f < W->width; f++) row[f] = get_field(W, w, f);
}

/* Does S pack as W does? Then a wire key is S's key for the same state. (Until S widens a
 * position: both are made from one plan.) */
static int same_layout(const Store *S, const Store *W) {
    return S->width == W->width && S->nwords == W->nwords && S->keylen == W->keylen &&
           memcmp(S->bits, W->bits, (size_t)S->width) == 0 &&
           memcmp(S->lo, W->lo, sizeof(int64_t) * (size_t)S->width) == 0;
}

/* The stored index of a state (row; narrow: also its wire key and hash), or -1. `same`: S
 * packs as the wire layout does, so the wire key is its key. A value that does not fit is not
 * stored here: no widening for a look-up. */
static Py_ssize_t dist_probe(Store *S, int same, int wide, const uint64_t *wkey, uint64_t h,
                             const int64_t *row) {
    size_t slot;
    if (!wide && same) {
        memcpy(S->scratch, wkey, sizeof(uint64_t) * (size_t)(S->nwords + 1));
        return find(S, h, &slot);
    }
    if (pack_key(S, row, S->scratch) >= 0) return -1;
    return find(S, hash_key(S->scratch, S->nwords), &slot);
}

/* ---- a set of wire records, each with a key and an owner: each once, under its least key --- */

typedef struct {
    Py_ssize_t rec, n, cap; /* bytes per record */
    unsigned char *recs;
    int64_t *keys;
    int32_t *part;
    uint64_t *hash;
    uint64_t *table; /* tsize: (tag << 32) | (index + 1) */
    size_t tsize;
} RecSet;

/* An empty set for about `expect` records (it grows past them). */
static int recset_init(RecSet *R, Py_ssize_t rec, Py_ssize_t expect) {
    memset(R, 0, sizeof *R);
    R->rec = rec;
    R->tsize = 256;
    while (R->tsize * 7 < (size_t)expect * 10 && R->tsize < ((size_t)1 << 32)) R->tsize *= 2;
    R->table = PyMem_Calloc(R->tsize, sizeof(uint64_t));
    if (!R->table) {
        PyErr_NoMemory();
        return -1;
    }
    return 0;
}

static void recset_free(RecSet *R) {
    PyMem_Free(R->recs);
    PyMem_Free(R->keys);
    PyMem_Free(R->part);
    PyMem_Free(R->hash);
    PyMem_Free(R->table);
}

static int recset_room(RecSet *R) {
    if ((size_t)(R->n + 1) * 10 > R->tsize * 7) {
        size_t tsize = R->tsize * 2;
        uint64_t *t = PyMem_Calloc(tsize, sizeof(uint64_t));
        if (!t) goto nomem;
        for (Py_ssize_t k = 0; k < R->n; k++) {
            size_t pos = (size_t)(R->hash[k] >> 32) & (tsize - 1);
            while (t[pos]) pos = (pos + 1) & (tsize - 1);
            t[pos] = ((R->hash[k] >> 32) << 32) | (uint64_t)(k + 1);
        }
        PyMem_Free(R->table);
        R->table = t;
        R->tsize = tsize;
    }
    if (R->n == R->cap) {
        Py_ssize_t cap = R->cap ? R->cap * 2 : 256;
        unsigned char *recs = PyMem_Realloc(R->recs, (size_t)(cap * R->rec + 1));
        if (recs) R->recs = recs;
        int64_t *keys = recs ? PyMem_Realloc(R->keys, sizeof(int64_t) * (size_t)cap) : NULL;
        if (keys) R->keys = keys;
        int32_t *part = keys ? PyMem_Realloc(R->part, sizeof(int32_t) * (size_t)cap) : NULL;
        if (part) R->part = part;
        uint64_t *hash = part ? PyMem_Realloc(R->hash, sizeof(uint64_t) * (size_t)cap) : NULL;
        if (!hash) goto nomem;
        R->hash = hash;
        R->cap = cap;
    }
    return 0;
nomem:
    PyErr_NoMemory();
    return -1;
}

/* Add the record at `rec` (hash h) under `key` unless it is in already; there keep the lesser
 * key. 0, or -1 with an error set. */
static int recset_add(RecSet *R, const void *rec, uint64_t h, int64_t key, int32_t part) {
    if (recset_room(R) < 0) return -1;
    /* the slot from the hash's high half: its low bits pick the owner */
    size_t mask = R->tsize - 1, pos = (size_t)(h >> 32) & mask;
    uint64_t tag = h >> 32;
    for (;;) {
        uint64_t e = R->table[pos];
        if (e == 0) break;
        if ((e >> 32) == tag) {
            Py_ssize_t k = (Py_ssize_t)(uint32_t)e - 1;
            if (memcmp(R->recs + k * R->rec, rec, (size_t)R->rec) == 0) {
                if (key < R->keys[k]) R->keys[k] = key;
                return 0;
            }
        }
        pos = (pos + 1) & mask;
    }
    Py_ssize_t k = R->n++;
    if (R->rec) memcpy(R->recs + k * R->rec, rec, (size_t)R->rec);
    R->keys[k] = key;
    R->part[k] = part;
    R->hash[k] = h;
    R->table[pos] = (tag << 32) | (uint64_t)(k + 1);
    return 0;
}

/* The records as one batch per partition (b"" where there are none), each partition's in the
 * set's order: counted, then scattered in one pass over each set. */
static PyObject *wire_batches(const Store *W, const RecSet *narrow, const RecSet *wide,
                              Py_ssize_t parts) {
    Py_ssize_t *cnt = PyMem_Calloc(2 * (size_t)parts + 1, sizeof(Py_ssize_t));
    char **cur = PyMem_Calloc(4 * (size_t)parts + 1, sizeof(char *)); /* 4 cursors a partition */
    PyObject *list = PyList_New(parts);
    if (!cnt || !cur || !list) {
        if (list) PyErr_NoMemory();
        goto error;
    }
    for (Py_ssize_t k = 0; k < narrow->n; k++) cnt[narrow->part[k]]++;
    for (Py_ssize_t k = 0; k < wide->n; k++) cnt[parts + wide->part[k]]++;
    for (Py_ssize_t p = 0; p < parts; p++) {
        WireHeader hd = {cnt[p], cnt[parts + p], W->width, W->keylen};
        Py_ssize_t size = hd.narrow + hd.wide == 0 ? 0 : (Py_ssize_t)sizeof hd +
                          (Py_ssize_t)hd.narrow * (8 + narrow->rec) +
                          (Py_ssize_t)hd.wide * (8 + wide->rec);
        PyObject *b = PyBytes_FromStringAndSize(NULL, size);
        if (!b) goto error;
        PyList_SET_ITEM(list, p, b);
        if (!size) continue;
        char *q = PyBytes_AS_STRING(b);
        memcpy(q, &hd, sizeof hd);
        q += sizeof hd;
        cur[4 * p] = q;                                /* narrow keys */
        cur[4 * p + 1] = q + hd.narrow * 8;            /* narrow records */
        cur[4 * p + 2] = cur[4 * p + 1] + hd.narrow * narrow->rec; /* wide keys */
        cur[4 * p + 3] = cur[4 * p + 2] + hd.wide * 8; /* wide rows */
    }
    for (int side = 0; side < 2; side++) {
        const RecSet *R = side ? wide : narrow;
        for (Py_ssize_t k = 0; k < R->n; k++) {
            char **c = cur + 4 * R->part[k] + 2 * side;
            memcpy(c[0], R->keys + k, 8);
            c[0] += 8;
            if (R->rec) memcpy(c[1], R->recs + k * R->rec, (size_t)R->rec);
            c[1] += R->rec;
        }
    }
    PyMem_Free(cnt);
    PyMem_Free(cur);
    return list;
error:
    PyMem_Free(cnt);
    PyMem_Free(cur);
    Py_XDECREF(list);
    return NULL;
}

/* A batch's parts, read and checked against W: 0, or -1 with an error set. */
typedef struct {
    WireHeader hd;
    const int64_t *nkeys, *wkeys;
    const unsigned char *narrow;
    const int64_t *wide; /* hd.wide rows of width values (unaligned: read with memcpy) */
} WireBatch;

static int wire_parse(const Store *W, PyObject *b, WireBatch *B) {
    memset(B, 0, sizeof *B);
    if (!PyBytes_Check(b)) {
        PyErr_SetString(PyExc_TypeError, "a batch must be bytes");
        return -1;
    }
    Py_ssize_t size = PyBytes_GET_SIZE(b);
    if (size == 0) return 0;
    const char *p = PyBytes_AS_STRING(b);
    if (size < (Py_ssize_t)sizeof(WireHeader)) goto bad;
    memcpy(&B->hd, p, sizeof B->hd);
    if (B->hd.width != W->width || B->hd.keylen != W->keylen || B->hd.narrow < 0 ||
        B->hd.wide < 0)
        goto bad;
    if (size != (Py_ssize_t)sizeof(WireHeader) + B->hd.narrow * (8 + W->keylen) +
                    B->hd.wide * (8 + 8 * W->width))
        goto bad;
    p += sizeof(WireHeader);
    B->nkeys = (const int64_t *)p;
    B->narrow = (const unsigned char *)(p + B->hd.narrow * 8);
    p += B->hd.narrow * (8 + W->keylen);
    B->wkeys = (const int64_t *)p;
    B->wide = (const int64_t *)(p + B->hd.wide * 8);
    return 0;
bad:
    PyErr_SetString(PyExc_ValueError, "not a batch of states of this model's wire layout");
    return -1;
}

/* The wire layout W from the argument `arg` (a store): 0, or -1 with an error set. */
static int wire_arg(const Store *S, PyObject *arg, Store **W) {
    if (!PyObject_TypeCheck(arg, &StoreType)) {
        PyErr_SetString(PyExc_TypeError, "the wire layout must be a store");
        return -1;
    }
    *W = (Store *)arg;
    if ((*W)->width != S->width || (*W)->n || (*W)->widened) {
        PyErr_SetString(PyExc_ValueError, "a wire layout is an empty store of the same width");
        return -1;
    }
    return 0;
}

/* ---- the level being stored ----------------------------------------------------------------- */

/* A worker stores a level's new states as it meets them: its own successors while it expands
 * (route), what the others sent while it merges. Each keeps its least discovery key so far in
 * S->lkey (by index from S->lbase); merge then sorts them by key, which is the order the driver
 * gives them their global ids in. */

/* Begin a level: the states stored from now on are its. */
static void level_begin(Store *S) {
    S->lbase = S->n;
    S->lloose = 0;
}

/* The invariants pending in a level (their numbers), checked on each new state as it is stored:
 * its mask has bit j set when pending invariant j (j < 64) does not hold of it or C cannot
 * tell; merge looks again, in the level's order, only where a bit is set (and always for
 * j >= 64). */
typedef struct {
    const KgenModel *M;
    long *kinv;
    Py_ssize_t npend;
} LevelChecks;

/* The numbers in `pending` (a sequence): 0, or -1 with an error set. Free L->kinv after. */
static int level_checks(LevelChecks *L, const KgenModel *M, PyObject *pending) {
    L->M = M;
    L->kinv = NULL;
    L->npend = 0;
    PyObject *pend = PySequence_Fast(pending, "the pending invariants must be a sequence");
    if (!pend) return -1;
    L->npend = PySequence_Fast_GET_SIZE(pend);
    L->kinv = PyMem_Calloc((size_t)L->npend + 1, sizeof(long));
    if (!L->kinv) {
        Py_DECREF(pend);
        PyErr_NoMemory();
        return -1;
    }
    for (Py_ssize_t j = 0; j < L->npend; j++) {
        L->kinv[j] = PyLong_AsLong(PySequence_Fast_GET_ITEM(pend, j));
        if (L->kinv[j] == -1 && PyErr_Occurred()) {
            Py_DECREF(pend);
            return -1;
        }
    }
    Py_DECREF(pend);
    return 0;
}

static uint64_t level_mask(const LevelChecks *L, const int64_t *row) {
    uint64_t m = 0;
    for (Py_ssize_t j = 0; j < L->npend && j < 64; j++)
        if (L->M->inv((int)L->kinv[j], (int64_t *)row) != 1) m |= (uint64_t)1 << j;
    return m;
}

/* Store the state `row` (not stored yet; in_scratch: its key for S is in S->scratch already,
 * hash h) under `key`, its parent's global id `par`, with its invariants' mask. C: count it
 * when it is not its own representative (crow: room for a row). 0, or -1 with an error set. */
static int level_store(Store *S, int in_scratch, uint64_t h, const int64_t *row, int64_t key,
                       Py_ssize_t par, const LevelChecks *L, const KcanonApi *C, int64_t *crow) {
    if (!in_scratch && pack_row(S, row, &h) < 0) return -1;
    Py_ssize_t at = S->n - S->lbase;
    if (at >= S->lcap) {
        Py_ssize_t cap = S->lcap ? S->lcap * 2 : 1024;
        int64_t *k = PyMem_Realloc(S->lkey, sizeof(int64_t) * (size_t)cap);
        if (k) S->lkey = k;
        uint64_t *m = k ? PyMem_Realloc(S->lmask, sizeof(uint64_t) * (size_t)cap) : NULL;
        if (!m) {
            PyErr_NoMemory();
            return -1;
        }
        S->lmask = m;
        S->lcap = cap;
    }
    if (insert(S, h, par) < 0) return -1;
    S->lkey[at] = key;
    S->lmask[at] = level_mask(L, row);
    if (C) {
        memcpy(crow, row, sizeof(int64_t) * (size_t)S->width);
        C->canon(C->plan, (long *)crow);
        S->lloose += memcmp(crow, row, sizeof(int64_t) * (size_t)S->width) != 0;
    }
    return 0;
}

/* ---- route ----------------------------------------------------------------------------------- */

/* route(model, lo, hi, gids, where, pending, fallbacks, succ, slow, step_error, canon, parts,
 * self, wire) -> (batches, counts, dead, transitions): expand this partition's states of places
 * [lo, hi) in its order (ascending global id): place k is the stored state where[k], with
 * global id gids[k] (both int64 buffers). It runs the generated code in `model`; a state whose
 * expansion fails is handed to slow(state, k), which answers its successors past the failing
 * steps. A successor this partition owns is stored at once when new, as a state of the next
 * level (merge finishes that level), with its mask of the `pending` invariants; every other is
 * kept once for its owner under its least key. batches: one per partition (b"" for this one,
 * `self`), in the wire layout `wire`. counts: int32 bytes, each place's successors. dead: the
 * first place with no successor and no failing step, or -1. */
static PyObject *store_route(Store *S, PyObject *const *args, Py_ssize_t nargs) {
    if (nargs != 14) {
        PyErr_SetString(PyExc_TypeError, "route() takes 14 arguments");
        return NULL;
    }
    const KgenModel *M = gen_model(S, args[0]);
    if (!M) return NULL;
    Py_ssize_t lo = PyLong_AsSsize_t(args[1]), hi = PyLong_AsSsize_t(args[2]);
    long parts = PyLong_AsLong(args[11]), self = PyLong_AsLong(args[12]);
    if (PyErr_Occurred()) return NULL;
    if (lo < 0 || lo > hi || parts < 1 || parts > 65536 || self < 0 || self >= parts) {
        PyErr_SetString(PyExc_ValueError, "route(): states or partitions out of range");
        return NULL;
    }
    if (!PyList_Check(args[6])) {
        PyErr_SetString(PyExc_TypeError, "route(): fallbacks must be a list");
        return NULL;
    }
    const KcanonApi *C;
    Store *W;
    if (gen_canon(S, args[10], &C) < 0 || wire_arg(S, args[13], &W) < 0) return NULL;
    LevelChecks L;
    if (level_checks(&L, M, args[5]) < 0) {
        PyMem_Free(L.kinv);
        return NULL;
    }
    Py_buffer gids, wheres;
    if (PyObject_GetBuffer(args[3], &gids, PyBUF_SIMPLE) < 0) {
        PyMem_Free(L.kinv);
        return NULL;
    }
    if (PyObject_GetBuffer(args[4], &wheres, PyBUF_SIMPLE) < 0) {
        PyBuffer_Release(&gids);
        PyMem_Free(L.kinv);
        return NULL;
    }
    const int64_t *gid = gids.buf, *where = wheres.buf;
    int bad = gids.len < hi * 8 || wheres.len < hi * 8;
    for (Py_ssize_t k = lo; k < hi && !bad; k++) bad = where[k] < 0 || where[k] >= S->n;
    if (bad) {
        PyBuffer_Release(&gids);
        PyBuffer_Release(&wheres);
        PyMem_Free(L.kinv);
        PyErr_SetString(PyExc_ValueError, "route(): a stored state and a global id every place");
        return NULL;
    }
    level_begin(S);
    Py_ssize_t widened = S->widened;
    int same = same_layout(S, W); /* until a store widens S */
    PyObject *succ = args[7], *slow = args[8], *step_error = args[9];
    Py_ssize_t width = S->width;
    RecSet narrow, wide;
    int rs = recset_init(&narrow, W->keylen, hi - lo);
    int rw = recset_init(&wide, 8 * width, 0);
    int64_t *s = PyMem_Malloc(sizeof(int64_t) * (size_t)(width + 1));
    int64_t *crow = PyMem_Malloc(sizeof(int64_t) * (size_t)(width + 1));
    int64_t *lrow = PyMem_Malloc(sizeof(int64_t) * (size_t)(width + 1));
    uint64_t *w = PyMem_Calloc((size_t)width + 2, sizeof(uint64_t));
    Ahead A = {0};
    PyObject *counts = PyBytes_FromStringAndSize(NULL, (hi - lo) * (Py_ssize_t)sizeof(int32_t));
    PyObject *batches = NULL, *answer = NULL;
    KgenOut o = {S, NULL, 0, 0, s, NULL, args[6], step_error, 0};
    long long transitions = 0;
    Py_ssize_t dead = -1;
    if (rs < 0 || rw < 0 || !s || !crow || !lrow || !w || !counts) {
        if (rs == 0 && rw == 0 && counts) PyErr_NoMemory();
        goto error;
    }
    int32_t *count = (int32_t *)PyBytes_AS_STRING(counts);
    for (Py_ssize_t k = lo; k < hi; k++) {
        int failed = gen_expand(S, M, 0, (Py_ssize_t)where[k], w, &o, succ, step_error);
        if (failed < 0) goto error;
        /* a failing step: slow() answers the state's other successors, as the slow path of the
         * one-process search does */
        if (failed && gen_take(&o, PyObject_CallFunction(slow, "On", o.tuple, k)) < 0)
            goto error;
        if (o.n >= ((Py_ssize_t)1 << DIST_KEY_SHIFT)) { /* its keys would run into the next's */
            PyErr_SetString(PyExc_OverflowError, "a state with 2^24 successors or more");
            goto error;
        }
        count[k - lo] = (int32_t)o.n;
        transitions += o.n;
        if (o.n == 0 && !failed && dead < 0) dead = k;
        int64_t base = gid[k] << DIST_KEY_SHIFT;
        /* the successors' wire keys and hashes first, each one's entry fetched ahead from the
         * table it will be looked up in (store_gen.c, "looked up side by side"): this
         * partition's store for its own, else the set of what is sent */
        if (ahead_room(&A, o.n, W->nwords + 1) < 0) goto error;
        for (Py_ssize_t j = 0; j < o.n; j++) {
            uint64_t *hj = A.hash + j;
            A.form[j] = wire_of(W, o.buf + j * (width + 1), A.keys + j * A.kw, hj);
            if (*hj % (uint64_t)parts != (uint64_t)self)
                __builtin_prefetch(narrow.table + ((size_t)(*hj >> 32) & (narrow.tsize - 1)));
            else if (same && !A.form[j])
                __builtin_prefetch(S->table + home(S, *hj));
        }
        for (Py_ssize_t j = 0; j < o.n; j++) {
            /* as visit() in store.c: a successor stored as it is is old, else its
             * representative is looked up; only this partition's own can be stored here. The
             * places ascend in global id, so the first time this partition meets one of its
             * own is under its least key here. */
            const int64_t *row = o.buf + j * (width + 1);
            uint64_t h = A.hash[j], *wkey = A.keys + j * A.kw;
            int wd = A.form[j];
            long owner = (long)(h % (uint64_t)parts);
            if (owner == self && dist_probe(S, same, wd, wkey, h, row) >= 0) continue;
            if (C) {
                memcpy(crow, row, sizeof(int64_t) * (size_t)width);
                C->canon(C->plan, (long *)crow);
                row = crow;
                wd = wire_of(W, row, wkey, &h);
                owner = (long)(h % (uint64_t)parts);
                if (owner == self && dist_probe(S, same, wd, wkey, h, row) >= 0) continue;
            }
            if (owner == self) {
                /* dist_probe left the wire key in S->scratch when S packs as W does */
                if (level_store(S, same && !wd, h, row, base | j, (Py_ssize_t)gid[k], &L, C,
                                lrow) < 0)
                    goto error;
                same = same && S->widened == widened;
                continue;
            }
            int add = wd ? recset_add(&wide, row, h, base | j, (int32_t)owner)
                         : recset_add(&narrow, wkey, h, base | j, (int32_t)owner);
            if (add < 0) goto error;
        }
    }
    batches = wire_batches(W, &narrow, &wide, parts);
    if (!batches) goto error;
    answer = Py_BuildValue("NNnL", batches, counts, dead, transitions);
    batches = counts = NULL; /* the answer took them */
error:
    PyBuffer_Release(&gids);
    PyBuffer_Release(&wheres);
    PyMem_Free(L.kinv);
    recset_free(&narrow);
    recset_free(&wide);
    Py_XDECREF(o.tuple);
    PyMem_Free(o.buf);
    PyMem_Free(s);
    PyMem_Free(crow);
    PyMem_Free(lrow);
    PyMem_Free(w);
    ahead_free(&A);
    Py_XDECREF(counts);
    Py_XDECREF(batches);
    return answer;
}

/* ---- merge ----------------------------------------------------------------------------------- */

/* Invariant k on the new state `row`: 1 holds, 0 not (*why: the message of the step error
 * that stopped its evaluation, a new reference, or NULL), -1 error. */
static int dist_check(const KgenModel *M, long k, int64_t *row, Py_ssize_t width, PyObject *invs,
                      PyObject *step_error, PyObject **why) {
    *why = NULL;
    int r = M->inv((int)k, row);
    if (r != 2) return r;
    if (k < 0 || k >= PyList_GET_SIZE(invs)) {
        PyErr_SetString(PyExc_IndexError, "no such invariant");
        return -1;
    }
    PyObject *t = row_tuple(row, width);
    if (!t) return -1;
    PyObject *v = PyObject_CallOneArg(PyList_GET_ITEM(invs, k), t);
    Py_DECREF(t);
    if (v) {
        int ok = PyObject_IsTrue(v);
        Py_DECREF(v);
        return ok;
    }
    if (!PyErr_ExceptionMatches(step_error)) return -1;
    PyObject *type, *value, *tb;
    PyErr_Fetch(&type, &value, &tb);
    PyErr_NormalizeException(&type, &value, &tb);
    *why = value ? PyObject_GetAttrString(value, "message") : NULL;
    Py_XDECREF(type);
    Py_XDECREF(value);
    Py_XDECREF(tb);
    return *why ? 0 : -1;
}

/* One new state of a level: its key, and where it is stored. */
typedef struct {
    int64_t key, at;
} DistNew;

static int dist_new_by_key(const void *a, const void *b) {
    int64_t x = ((const DistNew *)a)->key, y = ((const DistNew *)b)->key;
    return (x > y) - (x < y);
}

/* The level's states (S->lkey from S->lbase, n of them) into `order`, by key. Keys are
 * distinct, and their parents span a level: as (parent - least parent) * (largest place + 1)
 * + place they fit in 32 bits but on huge levels, so a radix sort of 11-bit digits (stable, on
 * that number above the 32 bits of the state's place in the level) takes two or three passes;
 * else qsort. 0, or -1 with an error set. */
static int level_order(const Store *S, Py_ssize_t n, DistNew *order) {
    const int64_t *key = S->lkey;
    int64_t pmin = INT64_MAX, pmax = 0, jmax = 0;
    for (Py_ssize_t k = 0; k < n; k++) {
        int64_t p = key[k] >> DIST_KEY_SHIFT, j = key[k] & (((int64_t)1 << DIST_KEY_SHIFT) - 1);
        if (p < pmin) pmin = p;
        if (p > pmax) pmax = p;
        if (j > jmax) jmax = j;
    }
    uint64_t span = n ? (uint64_t)(pmax - pmin + 1) * (uint64_t)(jmax + 1) : 0;
    if (n < 64 || span > ((uint64_t)1 << 32) || n > ((Py_ssize_t)1 << 32)) {
        for (Py_ssize_t k = 0; k < n; k++) order[k] = (DistNew){key[k], S->lbase + k};
        qsort(order, (size_t)n, sizeof(DistNew), dist_new_by_key);
        return 0;
    }
    uint64_t *a = PyMem_Malloc(sizeof(uint64_t) * (size_t)n);
    uint64_t *b = PyMem_Malloc(sizeof(uint64_t) * (size_t)n);
    size_t *count = PyMem_Malloc(sizeof(size_t) * 2048);
    if (!a || !b || !count) {
        PyMem_Free(a);
        PyMem_Free(b);
        PyMem_Free(count);
        PyErr_NoMemory();
        return -1;
    }
    for (Py_ssize_t k = 0; k < n; k++) {
        uint64_t p = (uint64_t)((key[k] >> DIST_KEY_SHIFT) - pmin);
        uint64_t j = (uint64_t)(key[k] & (((int64_t)1 << DIST_KEY_SHIFT) - 1));
        a[k] = (p * (uint64_t)(jmax + 1) + j) << 32 | (uint64_t)k;
    }
    for (unsigned shift = 32; shift < 64 && (span - 1) >> (shift - 32); shift += 11) {
        memset(count, 0, sizeof(size_t) * 2048);
        for (Py_ssize_t k = 0; k < n; k++) count[(a[k] >> shift) & 2047]++;
        size_t at = 0;
        for (int d = 0; d < 2048; d++) {
            size_t c = count[d];
            count[d] = at;
            at += c;
        }
        for (Py_ssize_t k = 0; k < n; k++) b[count[(a[k] >> shift) & 2047]++] = a[k];
        uint64_t *t = a;
        a = b;
        b = t;
    }
    for (Py_ssize_t k = 0; k < n; k++) {
        Py_ssize_t at = (Py_ssize_t)(a[k] & 0xFFFFFFFFu);
        order[k] = (DistNew){key[at], S->lbase + at};
    }
    PyMem_Free(a);
    PyMem_Free(b);
    PyMem_Free(count);
    return 0;
}

/* Take the state sent here under `key` (narrow: its wire record `rec`, read into w, hash h;
 * wide: its values in row): stored before this level, dropped; stored in this level, its key
 * lowered to `key` if less; else stored. 0, or -1 with an error set. */
static int level_take(Store *S, const Store *W, int same, const unsigned char *rec, uint64_t *w,
                      uint64_t h, int64_t *row, int64_t key, int initial, const LevelChecks *L,
                      const KcanonApi *C, int64_t *crow) {
    int wd = rec == NULL;
    if (!wd && !same) wire_row(W, rec, w, row); /* S packs otherwise: look it up by value */
    Py_ssize_t idx = dist_probe(S, same, wd, w, h, row);
    Py_ssize_t par = initial ? -1 : (Py_ssize_t)(key >> DIST_KEY_SHIFT);
    if (idx >= S->lbase) {
        if (key < S->lkey[idx - S->lbase]) {
            S->lkey[idx - S->lbase] = key;
            S->parent[idx] = (int32_t)par;
        }
        return 0;
    }
    if (idx >= 0) return 0;
    if (!wd && same) /* its key is in S->scratch; its values, for the checks */
        for (Py_ssize_t f = 0; f < W->width; f++) row[f] = get_field(W, w, f);
    return level_store(S, !wd && same, h, row, key, par, L, C, crow);
}

/* Received records hashed this many at a time, each one's table entry fetched ahead. */
#define MERGE_AHEAD 16

/* merge(model, batches, canon, pending, invs, step_error, initial, wire) -> (keys, where,
 * violations, loose): take the states of the batches (what the other partitions' route sent
 * here; for the initial states, what the driver sent) into the level route began (initial: a
 * level begun here), each once under its least key, with parent key >> 24 (initial: -1). keys:
 * the level's keys ascending, int64 bytes; where: the stored index of each, in that order.
 * violations: {invariant: (place of its first violating new state in that order, why or
 * None)} for the invariants `pending` (numbers; invs[k] is invariant k in Python), which route
 * was given too. loose: how many of the level's states are not their own representative
 * (canon: the canonicaliser's capsule, or None). */
static PyObject *store_merge(Store *S, PyObject *const *args, Py_ssize_t nargs) {
    if (nargs != 8) {
        PyErr_SetString(PyExc_TypeError, "merge() takes 8 arguments");
        return NULL;
    }
    const KgenModel *M = gen_model(S, args[0]);
    if (!M) return NULL;
    PyObject *list = args[1], *invs = args[4], *step_error = args[5];
    if (!PyList_Check(list) || !PyList_Check(invs)) {
        PyErr_SetString(PyExc_TypeError, "merge(): batches and invs must be lists");
        return NULL;
    }
    const KcanonApi *C;
    Store *W;
    if (gen_canon(S, args[2], &C) < 0 || wire_arg(S, args[7], &W) < 0) return NULL;
    int initial = PyObject_IsTrue(args[6]);
    if (initial < 0) return NULL;
    LevelChecks L;
    if (level_checks(&L, M, args[3]) < 0) {
        PyMem_Free(L.kinv);
        return NULL;
    }
    if (initial) level_begin(S);
    Py_ssize_t width = S->width, npend = L.npend;
    int64_t *row = PyMem_Malloc(sizeof(int64_t) * (size_t)(width + 1));
    int64_t *crow = PyMem_Malloc(sizeof(int64_t) * (size_t)(width + 1));
    uint64_t *w = PyMem_Calloc((size_t)W->nwords + 1, sizeof(uint64_t));
    char *left = PyMem_Calloc((size_t)npend + 1, 1);
    DistNew *order = NULL;
    uint64_t *sw = NULL;
    PyObject *keys = NULL, *wheres = NULL, *found = PyDict_New(), *answer = NULL;
    if (!row || !crow || !w || !left || !found) {
        if (found) PyErr_NoMemory();
        goto error;
    }
    Py_ssize_t nleft = npend, widened = S->widened;
    int same = same_layout(S, W); /* until a store widens S */
    for (Py_ssize_t j = 0; j < npend; j++) left[j] = 1;
    for (Py_ssize_t b = 0; b < PyList_GET_SIZE(list); b++) {
        WireBatch B;
        if (wire_parse(W, PyList_GET_ITEM(list, b), &B) < 0) goto error;
        uint64_t hh[MERGE_AHEAD];
        for (int64_t j = 0; j < B.hd.narrow; j++) {
            if (j % MERGE_AHEAD == 0) /* the next records' entries fetched ahead (as route) */
                for (int64_t a = j; a < j + MERGE_AHEAD && a < B.hd.narrow; a++) {
                    memset(w, 0, sizeof(uint64_t) * (size_t)(W->nwords + 1));
                    if (W->keylen) memcpy(w, B.narrow + a * W->keylen, (size_t)W->keylen);
                    hh[a - j] = hash_key(w, W->nwords);
                    if (same) __builtin_prefetch(S->table + home(S, hh[a - j]));
                }
            const unsigned char *rec = B.narrow + j * W->keylen;
            memset(w, 0, sizeof(uint64_t) * (size_t)(W->nwords + 1));
            if (W->keylen) memcpy(w, rec, (size_t)W->keylen);
            int64_t key;
            memcpy(&key, B.nkeys + j, 8);
            if (level_take(S, W, same, rec, w, hh[j % MERGE_AHEAD], row, key, initial, &L, C,
                           crow) < 0)
                goto error;
            same = same && S->widened == widened;
        }
        for (int64_t j = 0; j < B.hd.wide; j++) {
            memcpy(row, B.wide + j * width, sizeof(int64_t) * (size_t)width);
            int64_t key;
            memcpy(&key, B.wkeys + j, 8);
            uint64_t h = hash_key((const uint64_t *)row, width);
            if (level_take(S, W, same, NULL, NULL, h, row, key, initial, &L, C, crow) < 0)
                goto error;
            same = same && S->widened == widened;
        }
    }
    Py_ssize_t total = S->n - S->lbase;
    order = PyMem_Malloc(sizeof(DistNew) * (size_t)(total + 1));
    sw = PyMem_Calloc((size_t)S->nwords + 1, sizeof(uint64_t));
    keys = PyBytes_FromStringAndSize(NULL, total * 8);
    wheres = PyBytes_FromStringAndSize(NULL, total * 8);
    if (!order || !sw || !keys || !wheres) {
        if (keys && wheres) PyErr_NoMemory();
        goto error;
    }
    if (level_order(S, total, order) < 0) goto error;
    int64_t *ko = (int64_t *)PyBytes_AS_STRING(keys), *wo = (int64_t *)PyBytes_AS_STRING(wheres);
    for (Py_ssize_t pos = 0; pos < total; pos++) {
        ko[pos] = order[pos].key;
        wo[pos] = order[pos].at;
    }
    /* the pending invariants in the level's order, until each has failed: a state is looked at
     * again only where its mask says an invariant may not hold */
    uint64_t unseen = npend >= 64 ? ~(uint64_t)0 : ((uint64_t)1 << npend) - 1;
    for (Py_ssize_t pos = 0; pos < total && nleft; pos++) {
        uint64_t m = S->lmask[order[pos].at - S->lbase] & unseen;
        if (!m && npend <= 64) continue;
        load_key(S, order[pos].at, sw);
        for (Py_ssize_t f = 0; f < width; f++) row[f] = get_field(S, sw, f);
        for (Py_ssize_t j = 0; j < npend && nleft; j++) {
            if (!left[j] || (j < 64 && !(m >> j & 1))) continue;
            PyObject *why;
            int ok = dist_check(M, L.kinv[j], row, width, invs, step_error, &why);
            if (ok < 0) goto error;
            if (ok) continue;
            PyObject *v = Py_BuildValue("(nN)", pos, why ? why : Py_NewRef(Py_None));
            PyObject *kk = v ? PyLong_FromLong(L.kinv[j]) : NULL;
            int failed = !kk || PyDict_SetItem(found, kk, v) < 0;
            Py_XDECREF(kk);
            Py_XDECREF(v);
            if (failed) goto error;
            left[j] = 0;
            if (j < 64) unseen &= ~((uint64_t)1 << j);
            nleft--;
        }
    }
    answer = Py_BuildValue("NNNn", keys, wheres, found, S->lloose);
    keys = wheres = found = NULL; /* the answer took them */
error:
    PyMem_Free(L.kinv);
    PyMem_Free(row);
    PyMem_Free(crow);
    PyMem_Free(w);
    PyMem_Free(left);
    PyMem_Free(order);
    PyMem_Free(sw);
    Py_XDECREF(keys);
    Py_XDECREF(wheres);
    Py_XDECREF(found);
    return answer;
}

/* ---- the driver's and the tests' side of the wire -------------------------------------------- */

/* A state tuple's values into row: 0, or -1 with an error set. */
static int tuple_row(const Store *W, PyObject *t, int64_t *row) {
    if (!PyTuple_Check(t) || PyTuple_GET_SIZE(t) != W->width) {
        PyErr_SetString(PyExc_ValueError, "a state of the wrong shape for this layout");
        return -1;
    }
    for (Py_ssize_t f = 0; f < W->width; f++) {
        int overflow = 0;
        long long v = PyLong_AsLongLongAndOverflow(PyTuple_GET_ITEM(t, f), &overflow);
        if ((v == -1 && PyErr_Occurred()) || overflow) {
            if (!PyErr_Occurred())
                PyErr_SetString(PyExc_OverflowError, "a state value does not fit in 64 bits");
            return -1;
        }
        row[f] = (int64_t)v;
    }
    return 0;
}

/* wire_hash(state) -> its wire hash, this store taken as the wire layout (its owner is the
 * hash modulo the partitions) */
static PyObject *store_wire_hash(Store *W, PyObject *t) {
    int64_t *row = PyMem_Malloc(sizeof(int64_t) * (size_t)(W->width + 1));
    uint64_t *wkey = PyMem_Calloc((size_t)W->nwords + 1, sizeof(uint64_t));
    PyObject *out = NULL;
    uint64_t h;
    if (!row || !wkey) PyErr_NoMemory();
    else if (tuple_row(W, t, row) == 0) {
        wire_of(W, row, wkey, &h);
        out = PyLong_FromUnsignedLongLong(h);
    }
    PyMem_Free(row);
    PyMem_Free(wkey);
    return out;
}

/* encode_batch(states, keys) -> the states (distinct) with their keys as one batch in this
 * store's layout, taken as the wire layout */
static PyObject *store_encode_batch(Store *W, PyObject *const *args, Py_ssize_t nargs) {
    if (nargs != 2 || !PyList_Check(args[0]) || !PyList_Check(args[1]) ||
        PyList_GET_SIZE(args[0]) != PyList_GET_SIZE(args[1])) {
        PyErr_SetString(PyExc_TypeError, "encode_batch() takes two lists of the same length");
        return NULL;
    }
    RecSet narrow, wide;
    int rs = recset_init(&narrow, W->keylen, PyList_GET_SIZE(args[0]));
    int rw = recset_init(&wide, 8 * W->width, 0);
    int64_t *row = PyMem_Malloc(sizeof(int64_t) * (size_t)(W->width + 1));
    uint64_t *wkey = PyMem_Calloc((size_t)W->nwords + 1, sizeof(uint64_t));
    PyObject *out = NULL;
    if (rs < 0 || rw < 0 || !row || !wkey) {
        if (rs == 0 && rw == 0) PyErr_NoMemory();
        goto done;
    }
    for (Py_ssize_t j = 0; j < PyList_GET_SIZE(args[0]); j++) {
        long long key = PyLong_AsLongLong(PyList_GET_ITEM(args[1], j));
        if (key == -1 && PyErr_Occurred()) goto done;
        if (tuple_row(W, PyList_GET_ITEM(args[0], j), row) < 0) goto done;
        uint64_t h;
        int add = wire_of(W, row, wkey, &h) ? recset_add(&wide, row, h, key, 0)
                                             : recset_add(&narrow, wkey, h, key, 0);
        if (add < 0) goto done;
    }
    PyObject *one = wire_batches(W, &narrow, &wide, 1);
    if (one) {
        out = Py_NewRef(PyList_GET_ITEM(one, 0));
        Py_DECREF(one);
    }
done:
    recset_free(&narrow);
    recset_free(&wide);
    PyMem_Free(row);
    PyMem_Free(wkey);
    return out;
}

/* decode_batch(batch) -> (states, keys): what encode_batch or route wrote, narrow then wide */
static PyObject *store_decode_batch(Store *W, PyObject *b) {
    WireBatch B;
    if (wire_parse(W, b, &B) < 0) return NULL;
    int64_t *row = PyMem_Malloc(sizeof(int64_t) * (size_t)(W->width + 1));
    uint64_t *w = PyMem_Calloc((size_t)W->nwords + 1, sizeof(uint64_t));
    PyObject *states = PyList_New(0), *keys = PyList_New(0);
    if (!row || !w || !states || !keys) {
        if (states && keys) PyErr_NoMemory();
        goto error;
    }
    for (int64_t j = 0; j < B.hd.narrow + B.hd.wide; j++) {
        int64_t key;
        if (j < B.hd.narrow) {
            wire_row(W, B.narrow + j * W->keylen, w, row);
            memcpy(&key, B.nkeys + j, 8);
        } else {
            memcpy(row, B.wide + (j - B.hd.narrow) * W->width, sizeof(int64_t) * (size_t)W->width);
            memcpy(&key, B.wkeys + (j - B.hd.narrow), 8);
        }
        PyObject *t = row_tuple(row, W->width);
        PyObject *k = t ? PyLong_FromLongLong(key) : NULL;
        int bad = !k || PyList_Append(states, t) < 0 || PyList_Append(keys, k) < 0;
        Py_XDECREF(t);
        Py_XDECREF(k);
        if (bad) goto error;
    }
    PyMem_Free(row);
    PyMem_Free(w);
    return Py_BuildValue("NN", states, keys);
error:
    PyMem_Free(row);
    PyMem_Free(w);
    Py_XDECREF(states);
    Py_XDECREF(keys);
    return NULL;
}

/* merge_keys(batches, start) -> (keys, ids): the distributed search's level order. batches:
 * per partition, the int64 keys of its new states, ascending (what merge answered). keys: all
 * of them ascending, as int64 bytes (keys are distinct: each is one successor of one state);
 * ids: per partition, the global ids of its states in its order, counting from start. A
 * k-way merge over a heap of the partitions' next keys. */
static PyObject *dist_merge_keys(PyObject *Py_UNUSED(module), PyObject *const *args,
                                 Py_ssize_t nargs) {
    if (nargs != 2 || !PyList_Check(args[0])) {
        PyErr_SetString(PyExc_TypeError, "merge_keys(batches, start)");
        return NULL;
    }
    long long start = PyLong_AsLongLong(args[1]);
    if (start == -1 && PyErr_Occurred()) return NULL;
    Py_ssize_t parts = PyList_GET_SIZE(args[0]), total = 0;
    for (Py_ssize_t p = 0; p < parts; p++) {
        PyObject *b = PyList_GET_ITEM(args[0], p);
        if (!PyBytes_Check(b) || PyBytes_GET_SIZE(b) % 8) {
            PyErr_SetString(PyExc_ValueError, "merge_keys(): int64 bytes per partition");
            return NULL;
        }
        total += PyBytes_GET_SIZE(b) / 8;
    }
    Py_ssize_t *at = PyMem_Calloc((size_t)parts + 1, sizeof(Py_ssize_t));
    Py_ssize_t *heap = PyMem_Calloc((size_t)parts + 1, sizeof(Py_ssize_t)); /* partitions */
    int64_t **ids = PyMem_Calloc((size_t)parts + 1, sizeof(int64_t *));
    PyObject *keys = PyBytes_FromStringAndSize(NULL, total * 8), *idl = PyList_New(parts);
    if (!at || !heap || !ids || !keys || !idl) {
        if (keys && idl) PyErr_NoMemory();
        goto error;
    }
    for (Py_ssize_t p = 0; p < parts; p++) {
        PyObject *b = PyBytes_FromStringAndSize(NULL, PyBytes_GET_SIZE(PyList_GET_ITEM(args[0], p)));
        if (!b) goto error;
        PyList_SET_ITEM(idl, p, b);
        ids[p] = (int64_t *)PyBytes_AS_STRING(b);
    }
#define KEY_OF(p) (((const int64_t *)PyBytes_AS_STRING(PyList_GET_ITEM(args[0], (p))))[at[(p)]])
#define LEFT(p) (at[(p)] < PyBytes_GET_SIZE(PyList_GET_ITEM(args[0], (p))) / 8)
    Py_ssize_t nh = 0;
    for (Py_ssize_t p = 0; p < parts; p++) {
        if (!LEFT(p)) continue;
        Py_ssize_t c = nh++; /* sift up */
        while (c > 0 && KEY_OF(heap[(c - 1) / 2]) > KEY_OF(p)) {
            heap[c] = heap[(c - 1) / 2];
            c = (c - 1) / 2;
        }
        heap[c] = p;
    }
    int64_t *out = (int64_t *)PyBytes_AS_STRING(keys);
    for (Py_ssize_t r = 0; r < total; r++) {
        Py_ssize_t p = heap[0];
        out[r] = KEY_OF(p);
        ids[p][at[p]++] = start + r;
        Py_ssize_t top = p;
        if (!LEFT(p)) top = heap[--nh];
        Py_ssize_t c = 0; /* sift `top` down from the root */
        for (;;) {
            Py_ssize_t l = 2 * c + 1, m = c;
            int64_t km = KEY_OF(top);
            if (l < nh && KEY_OF(heap[l]) < km) m = l, km = KEY_OF(heap[l]);
            if (l + 1 < nh && KEY_OF(heap[l + 1]) < km) m = l + 1;
            if (m == c) break;
            heap[c] = heap[m];
            c = m;
        }
        if (nh) heap[c] = top;
    }
#undef KEY_OF
#undef LEFT
    PyMem_Free(at);
    PyMem_Free(heap);
    PyMem_Free(ids);
    return Py_BuildValue("NN", keys, idl);
error:
    PyMem_Free(at);
    PyMem_Free(heap);
    PyMem_Free(ids);
    Py_XDECREF(keys);
    Py_XDECREF(idl);
    return NULL;
}
