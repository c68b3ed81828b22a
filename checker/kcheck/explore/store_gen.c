/* The search's inner loop over a model's generated C (kcheck/explore/cgen.py translates the
 * model's Python successor function and invariants): states are unpacked into int64 arrays,
 * not tuples, and successors packed from them. Included by store.c (its Store and packing).
 *
 * Every state is expanded wholly in C or wholly in Python: its successors are buffered and
 * stored only when the generated code finished; when it answers "redo in Python" (a step error,
 * or anything it does not do exactly as Python does) the buffer is dropped and the state's
 * successors come from the Python function, as in store_expand. */

/* kgen-abi-begin */
#define KGEN_ABI 1
typedef struct KgenOut KgenOut;
typedef struct {
    /* buffer one successor: 0, or -1 with a Python error set */
    int (*emit)(KgenOut *o, const int64_t *st);
    /* run the k-th statement left in Python on this state: 0, 1 (a step error: redo the
     * state in Python) or -1 (a Python error set) */
    int (*python)(KgenOut *o, int k);
} KgenOps;
typedef struct {
    int abi, width, ninv;
    /* the successors of s through ops: 0 done, 1 redo the state in Python, -1 error */
    int (*succ)(int64_t *s, const KgenOps *ops, KgenOut *o);
    /* invariant k on s: 1 holds, 0 fails, 2 ask Python */
    int (*inv)(int k, int64_t *s);
} KgenModel;
/* kgen-abi-end */

struct KgenOut {
    Store *S;
    int64_t *buf; /* rows of width values */
    Py_ssize_t n, cap;
    int64_t *s;         /* the state being expanded */
    PyObject *tuple;    /* s as a tuple, made when Python needs it */
    PyObject *fallbacks;
    PyObject *step_error;
};

static int gen_reserve(KgenOut *o) {
    if (o->n < o->cap) return 0;
    Py_ssize_t cap = o->cap ? o->cap * 2 : 64;
    int64_t *b = PyMem_Realloc(o->buf, (size_t)cap * (size_t)o->S->width * sizeof(int64_t));
    if (!b) {
        PyErr_NoMemory();
        return -1;
    }
    o->buf = b;
    o->cap = cap;
    return 0;
}

static int gen_emit(KgenOut *o, const int64_t *st) {
    if (gen_reserve(o) < 0) return -1;
    memcpy(o->buf + o->n * o->S->width, st, sizeof(int64_t) * (size_t)o->S->width);
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

/* Buffer every state of the list `nexts` (tuples): 0, 1 (one is not a state of 64-bit ints:
 * redo in Python, which reports it), -1 */
static int gen_rows(KgenOut *o, PyObject *nexts) {
    if (!PyList_Check(nexts)) return 1;
    Py_ssize_t width = o->S->width;
    for (Py_ssize_t k = 0; k < PyList_GET_SIZE(nexts); k++) {
        PyObject *t = PyList_GET_ITEM(nexts, k);
        if (!PyTuple_Check(t) || PyTuple_GET_SIZE(t) != width) return 1;
        if (gen_reserve(o) < 0) return -1;
        int64_t *row = o->buf + o->n * width;
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

/* Pack row into S->scratch (widening as pack does); its hash in *h. */
static int pack_row(Store *S, const int64_t *row, uint64_t *h) {
again:
    memset(S->scratch, 0, sizeof(uint64_t) * (size_t)(S->nwords + 1));
    for (Py_ssize_t i = 0; i < S->width; i++) {
        uint64_t u;
        if (!fits(S, i, row[i], &u)) {
            if (widen(S, i) < 0) return -1;
            goto again;
        }
        put_field(S, S->scratch, i, u);
    }
    *h = hash_key(S->scratch, S->nwords);
    return 0;
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

/* expand_gen(model, start, stop, fallbacks, succ, check, ids, on_broken, step_error,
 * max_states, stop_when_clear) -> (next, transitions, failed): store_expand without
 * canonicalising, over the generated code in the capsule `model`. on_broken answers
 * (check, ids). */
static PyObject *store_expand_gen(Store *S, PyObject *const *args, Py_ssize_t nargs) {
    if (nargs != 11 || !PyList_Check(args[3])) {
        PyErr_SetString(PyExc_TypeError, "expand_gen() takes 11 arguments");
        return NULL;
    }
    const KgenModel *M = PyCapsule_GetPointer(args[0], "kcheck.kgen");
    if (!M) return NULL;
    if (M->abi != KGEN_ABI || M->width != S->width) {
        PyErr_SetString(PyExc_ValueError, "generated code for another layout");
        return NULL;
    }
    Py_ssize_t i = PyLong_AsSsize_t(args[1]);
    if (i == -1 && PyErr_Occurred()) return NULL;
    Py_ssize_t stop = PyLong_AsSsize_t(args[2]);
    if (stop == -1 && PyErr_Occurred()) return NULL;
    PyObject *succ = args[4], *on_broken = args[7], *step_error = args[8];
    Py_ssize_t max_states = PyLong_AsSsize_t(args[9]);
    if (max_states == -1 && PyErr_Occurred()) return NULL;
    int stop_when_clear = PyObject_IsTrue(args[10]);
    if (stop_when_clear < 0) return NULL;
    if (i < 0) {
        PyErr_SetString(PyExc_IndexError, "state index out of range");
        return NULL;
    }
    Py_ssize_t width = S->width;
    int64_t *s = PyMem_Malloc(sizeof(int64_t) * (size_t)(width + 1));
    uint64_t *w = PyMem_Calloc((size_t)S->nwords + 1, sizeof(uint64_t));
    KgenOut o = {S, NULL, 0, 0, s, NULL, args[3], step_error};
    PyObject *check = Py_NewRef(args[5]), *ids = Py_NewRef(args[6]);
    long long transitions = 0;
    int failed = 0;
    if (!s || !w) {
        PyErr_NoMemory();
        goto error;
    }
    while (i < stop && i < S->n) {
        /* the key may be re-laid by a widening: unpack it afresh for every state */
        memset(w, 0, sizeof(uint64_t) * (size_t)(S->nwords + 1));
        if (S->keylen) memcpy(w, S->keys + i * S->keylen, (size_t)S->keylen);
        for (Py_ssize_t f = 0; f < width; f++) s[f] = get_field(S, w, f);
        o.n = 0;
        Py_CLEAR(o.tuple);
        int r = M->succ(s, &gen_ops, &o);
        if (r < 0) goto error;
        if (r == 1) { /* the whole state in Python, as store_expand does it */
            o.n = 0;
            if (!o.tuple && !(o.tuple = row_tuple(s, width))) goto error;
            PyObject *nexts = PyObject_CallOneArg(succ, o.tuple);
            if (!nexts) {
                if (PyErr_ExceptionMatches(step_error)) {
                    PyErr_Clear();
                    failed = 1;
                    break;
                }
                goto error;
            }
            int bad = gen_rows(&o, nexts);
            Py_DECREF(nexts);
            if (bad < 0) goto error;
            if (bad) {
                PyErr_SetString(PyExc_OverflowError, "a state value does not fit in 64 bits");
                goto error;
            }
        }
        transitions += o.n;
        for (Py_ssize_t k = 0; k < o.n; k++) {
            const int64_t *row = o.buf + k * width;
            uint64_t h;
            size_t slot;
            if (pack_row(S, row, &h) < 0) goto error;
            if (find(S, h, &slot) >= 0) continue;
            Py_ssize_t idx = insert(S, h, i);
            if (idx < 0) goto error;
            if (gen_check(M, row, idx, width, &check, &ids, on_broken, step_error) < 0)
                goto error;
        }
        i++;
        if (max_states >= 0 && S->n >= max_states && i < S->n) break;
        if (stop_when_clear && check == Py_None) break;
    }
    Py_XDECREF(o.tuple);
    PyMem_Free(o.buf);
    PyMem_Free(s);
    PyMem_Free(w);
    Py_DECREF(check);
    Py_DECREF(ids);
    return Py_BuildValue("nLi", i, transitions, failed);
error:
    Py_XDECREF(o.tuple);
    PyMem_Free(o.buf);
    PyMem_Free(s);
    PyMem_Free(w);
    Py_DECREF(check);
    Py_DECREF(ids);
    return NULL;
}
