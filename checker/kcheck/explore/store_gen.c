/* The search's inner loop over a model's generated C (kcheck/explore/cgen.py translates the
 * model's Python successor function and invariants): states are unpacked into int64 arrays,
 * not tuples, and successors packed from them. Included by store.c (its Store and packing).
 *
 * Every state is expanded wholly in C or wholly in Python: its successors are buffered and
 * stored only when the generated code finished; when it answers "redo in Python" (a step error,
 * or anything it does not do exactly as Python does) the buffer is dropped and the state's
 * successors come from the Python function, as in store_expand. */

/* kgen-abi-begin */
#define KGEN_ABI 3
typedef struct KgenOut KgenOut;
typedef struct {
    /* buffer one successor, taken by action aid (-1: untagged): 0, or -1 with an error set */
    int (*emit)(KgenOut *o, int aid, const int64_t *st);
    /* run the k-th statement left in Python on this state: 0, 1 (a step error: redo the
     * state in Python) or -1 (a Python error set) */
    int (*python)(KgenOut *o, int k);
} KgenOps;
typedef struct {
    int abi, width, ninv;
    /* the successors of s through ops: 0 done, 1 redo the state in Python, -1 error */
    int (*succ)(int64_t *s, const KgenOps *ops, KgenOut *o);
    /* the same, each successor with its action (the search that keeps the state graph) */
    int (*tagged)(int64_t *s, const KgenOps *ops, KgenOut *o);
    /* invariant k on s: 1 holds, 0 fails, 2 ask Python */
    int (*inv)(int k, int64_t *s);
    int npred; /* the temporal properties' state formulas (cgen_model.py numbers them) */
    /* formula k on s: 1 holds, 0 does not, 2 ask Python */
    int (*pred)(int k, int64_t *s);
} KgenModel;
/* kgen-abi-end */

struct KgenOut {
    Store *S;
    int64_t *buf; /* rows of width values and the action */
    Py_ssize_t n, cap;
    int64_t *s;         /* the state being expanded */
    PyObject *tuple;    /* s as a tuple, made when Python needs it */
    PyObject *fallbacks;
    PyObject *step_error;
    int tagged; /* the Python statements answer (action, state) pairs */
};

static int gen_reserve(KgenOut *o) {
    if (o->n < o->cap) return 0;
    Py_ssize_t cap = o->cap ? o->cap * 2 : 64;
    int64_t *b = PyMem_Realloc(o->buf, (size_t)cap * (size_t)(o->S->width + 1) * sizeof(int64_t));
    if (!b) {
        PyErr_NoMemory();
        return -1;
    }
    o->buf = b;
    o->cap = cap;
    return 0;
}

static int gen_emit(KgenOut *o, int aid, const int64_t *st) {
    if (gen_reserve(o) < 0) return -1;
    int64_t *row = o->buf + o->n * (o->S->width + 1);
    memcpy(row, st, sizeof(int64_t) * (size_t)o->S->width);
    row[o->S->width] = aid;
    o->n++;
    return 0;
}

static PyObject *row_tuple(const int64_t *row, Py_ssize_t width) {
    PyObject *t = PyTuple_New(width);
    if (!t) return NULL;
    for (Py_ssize_t i = 0; i < width; i++) {
        PyObject *v = PyLong_FromLongLong(row[i]);
        if (!v) {
            Py_DECREF(t);
            return NULL;
        }
        PyTuple_SET_ITEM(t, i, v);
    }
    return t;
}

/* Buffer every state of the list `nexts` (tuples, or (action, tuple) pairs when o->tagged):
 * 0, 1 (one is not a state of 64-bit ints: redo in Python, which reports it), -1 */
static int gen_rows(KgenOut *o, PyObject *nexts) {
    if (!PyList_Check(nexts)) return 1;
    Py_ssize_t width = o->S->width;
    for (Py_ssize_t k = 0; k < PyList_GET_SIZE(nexts); k++) {
        PyObject *t = PyList_GET_ITEM(nexts, k);
        long aid = -1;
        if (o->tagged) {
            if (!PyTuple_Check(t) || PyTuple_GET_SIZE(t) != 2) return 1;
            aid = PyLong_AsLong(PyTuple_GET_ITEM(t, 0));
            if (aid == -1 && PyErr_Occurred()) {
                PyErr_Clear();
                return 1;
            }
            if (aid < 0 || aid >= 65536) return 1;
            t = PyTuple_GET_ITEM(t, 1);
        }
        if (!PyTuple_Check(t) || PyTuple_GET_SIZE(t) != width) return 1;
        if (gen_reserve(o) < 0) return -1;
        int64_t *row = o->buf + o->n * (width + 1);
        row[width] = aid;
        for (Py_ssize_t i = 0; i < width; i++) {
            PyObject *x = PyTuple_GET_ITEM(t, i);
            long long v;
            if (!small_value(x, &v)) {
                int overflow = 0;
                v = PyLong_AsLongLongAndOverflow(x, &overflow);
                if ((v == -1 && PyErr_Occurred()) || overflow) {
                    PyErr_Clear();
                    return 1;
                }
            }
            row[i] = (int64_t)v;
        }
        o->n++;
    }
    return 0;
}

static int gen_python(KgenOut *o, int k) {
    if (!o->tuple) {
        o->tuple = row_tuple(o->s, o->S->width);
        if (!o->tuple) return -1;
    }
    if (k < 0 || k >= PyList_GET_SIZE(o->fallbacks)) {
        PyErr_SetString(PyExc_IndexError, "no such Python statement");
        return -1;
    }
    PyObject *nexts = PyObject_CallOneArg(PyList_GET_ITEM(o->fallbacks, k), o->tuple);
    if (!nexts) {
        if (PyErr_ExceptionMatches(o->step_error)) {
            PyErr_Clear();
            return 1;
        }
        return -1;
    }
    int r = gen_rows(o, nexts);
    Py_DECREF(nexts);
    return r;
}

static const KgenOps gen_ops = {gen_emit, gen_python};

/* The generated code in the capsule `arg`, for this store's layout: NULL with an error set
 * when it is not one, or for another layout or ABI. */
static const KgenModel *gen_model(const Store *S, PyObject *arg) {
    const KgenModel *M = PyCapsule_GetPointer(arg, "kcheck.kgen");
    if (M && (M->abi != KGEN_ABI || M->width != S->width)) {
        PyErr_SetString(PyExc_ValueError, "generated code for another layout");
        return NULL;
    }
    return M;
}

/* Pack row into S->scratch (widening as pack does); its hash in *h. */
static int pack_row(Store *S, const int64_t *row, uint64_t *h) {
    Py_ssize_t f;
    while ((f = pack_key(S, row, S->scratch)) >= 0)
        if (widen(S, f) < 0) return -1;
    *h = hash_key(S->scratch, S->nwords);
    return 0;
}

/* The native canonicaliser's C entry (model/canon.c, canon_capsule): with symmetry reduction,
 * each successor is canonicalised on its int64 row, no tuple made. */
typedef struct {
    int abi;
    long width;
    void (*canon)(const long *plan, long *v);
    const long *plan;
} KcanonApi;
#define KCANON_ABI 1
_Static_assert(sizeof(long) == sizeof(int64_t), "canon.c works on longs: 64-bit longs only");

/* The canonicaliser of the capsule `arg` (None: no symmetry reduction): 0, or -1 with an error */
static int gen_canon(Store *S, PyObject *arg, const KcanonApi **C) {
    *C = NULL;
    if (arg == Py_None) return 0;
    *C = PyCapsule_GetPointer(arg, "kcheck.canon");
    if (!*C) return -1;
    if ((*C)->abi != KCANON_ABI || (*C)->width != S->width) {
        PyErr_SetString(PyExc_ValueError, "a canonicaliser for another layout");
        return -1;
    }
    return 0;
}

/* ---- a state's successors looked up side by side ---------------------------------------------
 * Most of a search's time is spent waiting for memory: each successor's look-up reads a random
 * entry of a table far larger than the caches. So the successors of one state are packed and
 * hashed first, and each one's table entry fetched ahead (__builtin_prefetch); the look-ups
 * that follow then find their entries arriving together instead of waiting for each in turn.
 * The keys are kept, so nothing is packed twice. */

typedef struct {
    uint64_t *keys;      /* n keys of kw words each */
    uint64_t *hash;      /* each key's hash */
    int *form;           /* per key: 0 packed; else it does not fit the layout it was packed by */
    Py_ssize_t cap, kw;
} Ahead;

/* Room for n keys of kw words, grown by `grow`: PyMem_Realloc, or realloc in a thread without
 * the GIL (store_par.c). 0, or -1 when out of memory (no error set: no GIL to set it with). */
static int ahead_grow(Ahead *A, Py_ssize_t n, Py_ssize_t kw, void *(*grow)(void *, size_t)) {
    if (n <= A->cap && kw == A->kw) return 0;
    Py_ssize_t cap = n > A->cap ? 2 * n : A->cap;
    uint64_t *keys = grow(A->keys, sizeof(uint64_t) * (size_t)(cap * kw));
    if (keys) A->keys = keys;
    uint64_t *hash = keys ? grow(A->hash, sizeof(uint64_t) * (size_t)cap) : NULL;
    if (hash) A->hash = hash;
    int *form = hash ? grow(A->form, sizeof(int) * (size_t)cap) : NULL;
    if (!form) return -1;
    A->form = form;
    A->cap = cap;
    A->kw = kw;
    return 0;
}

/* Room for n keys of kw words: 0, or -1 with an error set. */
static int ahead_room(Ahead *A, Py_ssize_t n, Py_ssize_t kw) {
    if (ahead_grow(A, n, kw, PyMem_Realloc) == 0) return 0;
    PyErr_NoMemory();
    return -1;
}

/* Free what `ahead_grow` took with the matching `release` (PyMem_Free, or free). */
static void ahead_release(Ahead *A, void (*release)(void *)) {
    release(A->keys);
    release(A->hash);
    release(A->form);
    memset(A, 0, sizeof *A);
}

static void ahead_free(Ahead *A) { ahead_release(A, PyMem_Free); }

/* Pack the n rows at `rows` (width + 1 values apart) by S's layout into A, each key's table
 * entry fetched ahead; a row that does not fit (form 1) is left to pack_row, which widens. 0,
 * or -1 with an error set. */
static int ahead_pack(Ahead *A, const Store *S, const int64_t *rows, Py_ssize_t n) {
    if (ahead_room(A, n, S->nwords + 1) < 0) return -1;
    for (Py_ssize_t j = 0; j < n; j++) {
        uint64_t *key = A->keys + j * A->kw;
        A->form[j] = pack_key(S, rows + j * (S->width + 1), key) >= 0;
        if (A->form[j]) continue;
        A->hash[j] = hash_key(key, S->nwords);
        __builtin_prefetch(S->table + home(S, A->hash[j]));
    }
    return 0;
}

/* Look `*row` up, and when it is not stored as it is, its representative (then *row points at
 * crow, which holds it): the contract of visit() in store.c, so the same states are stored in
 * the same order. `key`: its key packed ahead by S's current layout (hash *h), or NULL. The
 * index found, -1 when new (S->scratch then holds the key to insert, *h its hash), -2 on an
 * error. */
static Py_ssize_t gen_lookup(Store *S, const KcanonApi *C, const int64_t **row, int64_t *crow,
                             uint64_t *h, const uint64_t *key) {
    size_t slot;
    if (key) memcpy(S->scratch, key, sizeof(uint64_t) * (size_t)(S->nwords + 1));
    else if (pack_row(S, *row, h) < 0) return -2;
    Py_ssize_t idx = find(S, *h, &slot);
    if (idx >= 0 || !C) return idx;
    memcpy(crow, *row, sizeof(int64_t) * (size_t)(S->width + 1));
    C->canon(C->plan, (long *)crow);
    *row = crow;
    if (pack_row(S, crow, h) < 0) return -2;
    return find(S, *h, &slot);
}

/* Is the new state `row` (stored at idx) fine? 1 yes, 0 no (*check and *ids replaced by
 * on_broken's answer), -1 error. ids: the pending invariants' numbers when every one of them
 * is translated (None: ask the Python check). */
static int gen_check(const KgenModel *M, const int64_t *row, Py_ssize_t idx, Py_ssize_t width,
                     PyObject **check, PyObject **ids, PyObject *on_broken,
                     PyObject *step_error) {
    if (*check == Py_None) return 1;
    int ok = 1, ask = (*ids == Py_None);
    if (!ask) {
        for (Py_ssize_t j = 0; j < PyList_GET_SIZE(*ids) && ok; j++) {
            long k = PyLong_AsLong(PyList_GET_ITEM(*ids, j));
            if (k == -1 && PyErr_Occurred()) return -1;
            int r = M->inv((int)k, (int64_t *)row);
            if (r == 2) ask = 1;
            else ok = r;
            if (ask) break;
        }
    }
    if (ok && !ask) return 1;
    PyObject *t = row_tuple(row, width);
    if (!t) return -1;
    if (ask) {
        PyObject *r = PyObject_CallOneArg(*check, t);
        if (!r) {
            if (!PyErr_ExceptionMatches(step_error)) {
                Py_DECREF(t);
                return -1;
            }
            PyErr_Clear();
            ok = 0;
        } else {
            ok = PyObject_IsTrue(r);
            Py_DECREF(r);
            if (ok < 0) {
                Py_DECREF(t);
                return -1;
            }
        }
    }
    if (!ok) {
        PyObject *next = PyObject_CallFunction(on_broken, "On", t, idx);
        if (!next) {
            Py_DECREF(t);
            return -1;
        }
        if (!PyTuple_Check(next) || PyTuple_GET_SIZE(next) != 2) {
            Py_DECREF(next);
            Py_DECREF(t);
            PyErr_SetString(PyExc_TypeError, "on_broken must answer (check, ids)");
            return -1;
        }
        Py_SETREF(*check, Py_NewRef(PyTuple_GET_ITEM(next, 0)));
        Py_SETREF(*ids, Py_NewRef(PyTuple_GET_ITEM(next, 1)));
        Py_DECREF(next);
    }
    Py_DECREF(t);
    return ok;
}

/* One run of expand_gen: what every state's expansion needs. */
typedef struct {
    Store *S;
    const KgenModel *M;
    const KcanonApi *C;
    PyObject *succ, *on_broken, *step_error;
    PyObject *check, *ids; /* owned: on_broken replaces them */
    KgenOut o;
    int64_t *s, *crow;
    uint64_t *w;
    Ahead ahead; /* the successors of the state being expanded, packed ahead */
    long long transitions;
    int stop_when_dead;
} GenRun;

/* Parse expand_gen's arguments (the first 12; see store_expand_gen) into g and [*i, *stop):
 * 0, or -1 with an error set (then gen_done(g) frees what was taken). */
static int gen_start(GenRun *g, Store *S, PyObject *const *args, Py_ssize_t *i, Py_ssize_t *stop,
                     Py_ssize_t *max_states, long long *flags) {
    memset(g, 0, sizeof *g);
    g->S = S;
    if (!PyList_Check(args[3])) {
        PyErr_SetString(PyExc_TypeError, "expand_gen(): fallbacks must be a list");
        return -1;
    }
    if (gen_canon(S, args[11], &g->C) < 0) return -1;
    g->M = gen_model(S, args[0]);
    if (!g->M) return -1;
    *i = PyLong_AsSsize_t(args[1]);
    if (*i == -1 && PyErr_Occurred()) return -1;
    *stop = PyLong_AsSsize_t(args[2]);
    if (*stop == -1 && PyErr_Occurred()) return -1;
    *max_states = PyLong_AsSsize_t(args[9]);
    if (*max_states == -1 && PyErr_Occurred()) return -1;
    *flags = PyLong_AsLongLong(args[10]); /* flags, or the tagged search's edge_base */
    if (*flags == -1 && PyErr_Occurred()) return -1;
    if (*i < 0) {
        PyErr_SetString(PyExc_IndexError, "state index out of range");
        return -1;
    }
    g->succ = args[4];
    g->on_broken = args[7];
    g->step_error = args[8];
    g->check = Py_NewRef(args[5]);
    g->ids = Py_NewRef(args[6]);
    g->stop_when_dead = (*flags & 2) != 0;
    Py_ssize_t width = S->width;
    g->s = PyMem_Malloc(sizeof(int64_t) * (size_t)(width + 1));
    g->crow = PyMem_Malloc(sizeof(int64_t) * (size_t)(width + 1));
    /* room for the widest layout (every position 64 bits): a widening during the run makes
     * the key longer, and every state after it is unpacked through w */
    g->w = PyMem_Calloc((size_t)width + 2, sizeof(uint64_t));
    KgenOut o = {S, NULL, 0, 0, g->s, NULL, args[3], g->step_error, 0};
    g->o = o;
    if (!g->s || !g->w || !g->crow) {
        PyErr_NoMemory();
        return -1;
    }
    return 0;
}

static void gen_done(GenRun *g) {
    Py_XDECREF(g->o.tuple);
    PyMem_Free(g->o.buf);
    PyMem_Free(g->s);
    PyMem_Free(g->crow);
    PyMem_Free(g->w);
    ahead_free(&g->ahead);
    Py_XDECREF(g->check);
    Py_XDECREF(g->ids);
}

/* Buffer the successors of `nexts` (a new reference, taken; NULL: the call that made it
 * failed) as gen_rows does: 0, or -1 with an error set (a value past 64 bits is an error: the
 * Python function made it). */
static int gen_take(KgenOut *o, PyObject *nexts) {
    if (!nexts) return -1;
    int bad = gen_rows(o, nexts);
    Py_DECREF(nexts);
    if (bad > 0) PyErr_SetString(PyExc_OverflowError, "a state value does not fit in 64 bits");
    return bad ? -1 : 0;
}

/* Expand stored state i into o's buffer: unpacked into o->s through w, run through the
 * generated code (its tagged form: every successor with its action), or wholly through the
 * Python function `succ` on its tuple (o->tuple) when the generated code asks. 0 done, 1 a step
 * failed (the error cleared), -1 error. */
static int gen_expand(Store *S, const KgenModel *M, int tagged, Py_ssize_t i, uint64_t *w,
                      KgenOut *o, PyObject *succ, PyObject *step_error) {
    /* the key may be re-laid by a widening: unpack it afresh for every state */
    load_key(S, i, w);
    for (Py_ssize_t f = 0; f < S->width; f++) o->s[f] = get_field(S, w, f);
    o->n = 0;
    Py_CLEAR(o->tuple);
    int r = (tagged ? M->tagged : M->succ)(o->s, &gen_ops, o);
    if (r != 1) return r < 0 ? -1 : 0;
    o->n = 0; /* the whole state in Python, as store_expand does it */
    if (!o->tuple && !(o->tuple = row_tuple(o->s, S->width))) return -1;
    PyObject *nexts = PyObject_CallOneArg(succ, o->tuple);
    if (!nexts) {
        if (!PyErr_ExceptionMatches(step_error)) return -1;
        PyErr_Clear();
        return 1;
    }
    return gen_take(o, nexts);
}

/* Store the successor `row` of state `par` when it is new (looked up as it is, then as its
 * representative) and check it (key, h: as gen_lookup's): 0, or -1 with an error set. */
static int gen_visit(GenRun *g, const int64_t *row, Py_ssize_t par, const uint64_t *key,
                     uint64_t h) {
    Py_ssize_t found = gen_lookup(g->S, g->C, &row, g->crow, &h, key);
    if (found == -2) return -1;
    if (found >= 0) return 0;
    Py_ssize_t idx = insert(g->S, h, par);
    if (idx < 0) return -1;
    if (gen_check(g->M, row, idx, g->S->width, &g->check, &g->ids, g->on_broken,
                  g->step_error) < 0)
        return -1;
    return 0;
}

/* Expand state i wholly, as store_expand does: 0 done, 1 a step failed (state i is to be
 * redone on the slow path), 2 it has no successor and the run stops there, -1 error. */
static int gen_state(GenRun *g, Py_ssize_t i) {
    KgenOut *o = &g->o;
    int r = gen_expand(g->S, g->M, 0, i, g->w, o, g->succ, g->step_error);
    if (r != 0) return r;
    g->transitions += o->n;
    if (o->n == 0 && g->stop_when_dead) return 2;
    Store *S = g->S;
    Py_ssize_t widened = S->widened;
    Ahead *A = &g->ahead;
    if (ahead_pack(A, S, o->buf, o->n) < 0) return -1;
    for (Py_ssize_t k = 0; k < o->n; k++) {
        /* a key packed ahead is S's own while no position has widened since */
        int ahead = !A->form[k] && S->widened == widened;
        if (gen_visit(g, o->buf + k * (S->width + 1), i, ahead ? A->keys + k * A->kw : NULL,
                      ahead ? A->hash[k] : 0) < 0)
            return -1;
    }
    return 0;
}

/* After state *i's expansion answered r (as gen_state's): 1 when the run stops there, with
 * *failed and the next state to expand set; 0 to go on. The stopping points of every loop
 * over states: a failed step, a state with no successor, the state limit, every invariant
 * found broken (stop_when_clear). */
static int gen_stops(const GenRun *g, int r, Py_ssize_t *i, int *failed, Py_ssize_t max_states,
                     int stop_when_clear) {
    if (r == 1) { /* state *i is redone on the slow path */
        *failed = 1;
        return 1;
    }
    ++*i;
    if (r == 2) {
        *failed = 2;
        return 1;
    }
    if (max_states >= 0 && g->S->n >= max_states && *i < g->S->n) return 1;
    return stop_when_clear && g->check == Py_None;
}

/* expand_gen(model, start, stop, fallbacks, succ, check, ids, on_broken, step_error,
 * max_states, flags, canon) -> (next, transitions, failed): store_expand over the
 * generated code in the capsule `model`, canonicalising with the capsule `canon` (None: no
 * symmetry reduction). on_broken answers (check, ids). */
static PyObject *store_expand_gen(Store *S, PyObject *const *args, Py_ssize_t nargs) {
    if (nargs != 12) {
        PyErr_SetString(PyExc_TypeError, "expand_gen() takes 12 arguments");
        return NULL;
    }
    GenRun g;
    Py_ssize_t i, stop, max_states;
    long long flags;
    int failed = 0;
    if (gen_start(&g, S, args, &i, &stop, &max_states, &flags) < 0) goto error;
    int stop_when_clear = (flags & 1) != 0;
    while (i < stop && i < S->n) {
        int r = gen_state(&g, i);
        if (r < 0) goto error;
        if (gen_stops(&g, r, &i, &failed, max_states, stop_when_clear)) break;
    }
    long long transitions = g.transitions;
    gen_done(&g);
    return Py_BuildValue("nLi", i, transitions, failed);
error:
    gen_done(&g);
    return NULL;
}

/* The graph-keeping search's output, grown in C and handed over as bytes at the end: per edge
 * its int32 target and uint16 action; per state the uint64 mask of the actions enabled there
 * and the int64 end of its edges (counted from the search's edge_base). */
typedef struct {
    int32_t *to;
    uint16_t *act;
    uint64_t *en;
    int64_t *ends;
    Py_ssize_t nedges, capedges, nstates, capstates;
    long long edge_end;
} TagOut;

static int tag_edge(TagOut *t, Py_ssize_t target, int64_t aid) {
    if (aid < 0 || aid >= 64) {
        PyErr_SetString(PyExc_ValueError, "an action number past 63 in the graph");
        return -1;
    }
    if (t->nedges == t->capedges) {
        Py_ssize_t cap = t->capedges ? t->capedges * 2 : 1024;
        int32_t *to = PyMem_Realloc(t->to, sizeof(int32_t) * (size_t)cap);
        if (to) t->to = to;
        uint16_t *act = to ? PyMem_Realloc(t->act, sizeof(uint16_t) * (size_t)cap) : NULL;
        if (!act) {
            PyErr_NoMemory();
            return -1;
        }
        t->act = act;
        t->capedges = cap;
    }
    t->to[t->nedges] = (int32_t)target;
    t->act[t->nedges++] = (uint16_t)aid;
    return 0;
}

/* A state's edges are in (n of them, with the actions of `mask`). */
static int tag_state(TagOut *t, Py_ssize_t n, uint64_t mask) {
    if (t->nstates == t->capstates) {
        Py_ssize_t cap = t->capstates ? t->capstates * 2 : 256;
        uint64_t *en = PyMem_Realloc(t->en, sizeof(uint64_t) * (size_t)cap);
        if (en) t->en = en;
        int64_t *ends = en ? PyMem_Realloc(t->ends, sizeof(int64_t) * (size_t)cap) : NULL;
        if (!ends) {
            PyErr_NoMemory();
            return -1;
        }
        t->ends = ends;
        t->capstates = cap;
    }
    t->edge_end += n;
    t->en[t->nstates] = mask;
    t->ends[t->nstates++] = t->edge_end;
    return 0;
}

static void tag_free(TagOut *t) {
    PyMem_Free(t->to);
    PyMem_Free(t->act);
    PyMem_Free(t->en);
    PyMem_Free(t->ends);
}

/* (next, transitions, failed, to, act, en, ends): what expand_gen_tagged answers. */
static PyObject *tag_answer(Py_ssize_t i, long long transitions, int failed, const TagOut *t) {
    static const char none[1] = {0}; /* y# makes None of a NULL pointer: never hand it one */
    return Py_BuildValue(
        "nLiy#y#y#y#", i, transitions, failed, t->to ? (const char *)t->to : none,
        t->nedges * (Py_ssize_t)sizeof(int32_t), t->act ? (const char *)t->act : none,
        t->nedges * (Py_ssize_t)sizeof(uint16_t), t->en ? (const char *)t->en : none,
        t->nstates * (Py_ssize_t)sizeof(uint64_t), t->ends ? (const char *)t->ends : none,
        t->nstates * (Py_ssize_t)sizeof(int64_t));
}

/* Check the states stored from `before` on, in order, once their parent's edges are in (as
 * the Python search does): 0, or -1 with an error set. */
static int tag_check_new(GenRun *g, Py_ssize_t before) {
    Store *S = g->S;
    for (Py_ssize_t j = before; j < S->n && g->check != Py_None; j++) {
        int64_t *row = g->crow; /* unpack state j */
        load_key(S, j, g->w);
        for (Py_ssize_t f = 0; f < S->width; f++) row[f] = get_field(S, g->w, f);
        if (gen_check(g->M, row, j, S->width, &g->check, &g->ids, g->on_broken,
                      g->step_error) < 0)
            return -1;
    }
    return 0;
}

/* Expand state i for the graph-keeping search: every successor is stored or found (the
 * index_all contract) and becomes an edge. 0 done, 1 a step failed (state i is to be redone on
 * the slow path), -1 error. */
static int gen_state_tagged(GenRun *g, Py_ssize_t i, TagOut *t) {
    Store *S = g->S;
    Py_ssize_t width = S->width;
    KgenOut *o = &g->o;
    int r = gen_expand(S, g->M, 1, i, g->w, o, g->succ, g->step_error);
    if (r != 0) return r;
    g->transitions += o->n;
    Py_ssize_t before = S->n, widened = S->widened;
    uint64_t mask = 0;
    Ahead *A = &g->ahead;
    if (ahead_pack(A, S, o->buf, o->n) < 0) return -1;
    for (Py_ssize_t k = 0; k < o->n; k++) {
        const int64_t *row = o->buf + k * (width + 1);
        int64_t aid = row[width];
        int ahead = !A->form[k] && S->widened == widened; /* as in gen_state */
        uint64_t h = ahead ? A->hash[k] : 0;
        Py_ssize_t idx = gen_lookup(S, g->C, &row, g->crow, &h, ahead ? A->keys + k * A->kw : NULL);
        if (idx == -2) return -1;
        if (idx < 0 && (idx = insert(S, h, i)) < 0) return -1;
        if (tag_edge(t, idx, aid) < 0) return -1;
        mask |= (uint64_t)1 << aid;
    }
    if (tag_state(t, o->n, mask) < 0) return -1;
    return tag_check_new(g, before);
}

/* expand_gen_tagged(model, start, stop, fallbacks, tagged, check, ids, on_broken, step_error,
 * max_states, edge_base, canon) -> (next, transitions, failed, edge_to, edge_act, enabled,
 * edge_start): expand_gen for the search that keeps the state graph (at most 64 actions).
 * Every successor is stored or found (the index_all contract) and becomes an edge; the
 * answer's bytes extend the search's arrays: int32 targets, uint16 actions, a uint64 mask of
 * the actions enabled per state, and per state the int64 end of its edges (from edge_base). */
static PyObject *store_expand_gen_tagged(Store *S, PyObject *const *args, Py_ssize_t nargs) {
    if (nargs != 12) {
        PyErr_SetString(PyExc_TypeError, "expand_gen_tagged() takes 12 arguments");
        return NULL;
    }
    GenRun g;
    TagOut t;
    memset(&t, 0, sizeof t);
    Py_ssize_t i, stop, max_states;
    long long edge_base;
    int failed = 0;
    if (gen_start(&g, S, args, &i, &stop, &max_states, &edge_base) < 0) goto error;
    g.o.tagged = 1;
    t.edge_end = edge_base;
    while (i < stop && i < S->n) {
        int r = gen_state_tagged(&g, i, &t);
        if (r < 0) goto error;
        if (gen_stops(&g, r, &i, &failed, max_states, 0)) break;
    }
    PyObject *out = tag_answer(i, g.transitions, failed, &t);
    tag_free(&t);
    gen_done(&g);
    return out;
error:
    tag_free(&t);
    gen_done(&g);
    return NULL;
}

/* predicates(model, ks, n) -> [bytes, one per k]: the state formulas ks (their numbers in the
 * generated code of the capsule `model`) on every stored state [0, n), each state unpacked
 * once into an int64 row with the store's layout as it is now (widenings included); per state
 * 1 holds, 0 does not, 2 ask Python (not translated, or a check failed: Python decides). */
static PyObject *store_predicates(Store *S, PyObject *const *args, Py_ssize_t nargs) {
    if (nargs != 3) {
        PyErr_SetString(PyExc_TypeError, "predicates() takes 3 arguments");
        return NULL;
    }
    const KgenModel *M = gen_model(S, args[0]);
    if (!M) return NULL;
    Py_ssize_t n = PyLong_AsSsize_t(args[2]);
    if (n == -1 && PyErr_Occurred()) return NULL;
    if (n < 0 || n > S->n) {
        PyErr_SetString(PyExc_IndexError, "state index out of range");
        return NULL;
    }
    PyObject *ks = PySequence_Fast(args[1], "predicates(): ks must be a sequence");
    if (!ks) return NULL;
    Py_ssize_t m = PySequence_Fast_GET_SIZE(ks), width = S->width;
    PyObject *out = PyList_New(m);
    int *k = PyMem_Malloc(sizeof(int) * (size_t)(m + 1));
    char **col = PyMem_Malloc(sizeof(char *) * (size_t)(m + 1));
    uint64_t *w = PyMem_Calloc((size_t)S->nwords + 1, sizeof(uint64_t));
    int64_t *row = PyMem_Malloc(sizeof(int64_t) * (size_t)(width + 1));
    if (!out || !k || !col || !w || !row) {
        if (out) PyErr_NoMemory();
        goto error;
    }
    for (Py_ssize_t j = 0; j < m; j++) {
        long v = PyLong_AsLong(PySequence_Fast_GET_ITEM(ks, j));
        if (v == -1 && PyErr_Occurred()) goto error;
        if (v < 0 || v >= M->npred) {
            PyErr_SetString(PyExc_ValueError, "no such state formula in the generated code");
            goto error;
        }
        k[j] = (int)v;
        PyObject *b = PyBytes_FromStringAndSize(NULL, n);
        if (!b) goto error;
        PyList_SET_ITEM(out, j, b);
        col[j] = PyBytes_AS_STRING(b);
    }
    for (Py_ssize_t i = 0; i < n && m; i++) {
        load_key(S, i, w);
        for (Py_ssize_t f = 0; f < width; f++) row[f] = get_field(S, w, f);
        for (Py_ssize_t j = 0; j < m; j++) col[j][i] = (char)M->pred(k[j], row);
    }
    Py_DECREF(ks);
    PyMem_Free(k);
    PyMem_Free(col);
    PyMem_Free(w);
    PyMem_Free(row);
    return out;
error:
    Py_DECREF(ks);
    Py_XDECREF(out);
    PyMem_Free(k);
    PyMem_Free(col);
    PyMem_Free(w);
    PyMem_Free(row);
    return NULL;
}
