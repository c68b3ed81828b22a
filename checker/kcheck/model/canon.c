/* Native canonicaliser for symmetry reduction: the same algorithm as the Python code that
 * kcheck/model/symmetry.py generates, step for step, so both give the identical representative
 * (tests/model/test_native.py holds them to it). Built on first use by kcheck/model/native.py.
 *
 * A plan is a flat tuple of ints, made by symmetry.native_plan():
 *   width, nsteps, then per step either
 *     0, base, slots, stride                                   sort the blocks, descending
 *     1, base, slots, stride, nkey, keyoffs..., nshapes,        permute a referenced kind
 *        nsites, [jbase, jslots, jstride, refoff, flag, shape0, nparts, (off, lo, size)...]...,
 *        nvars, [varindex, shape]...
 * A permuted kind's slots are ordered by (own key, counts of referrers per shape compared from
 * the highest shape down, slot) descending, exactly as Python's sorted(..., reverse=True) does
 * with the generated keys; then blocks move and every reference is renumbered. A site's
 * `flag` is the offset of the presence flag that guards its reference: 0 for a real field,
 * the cached presence for a field of a controller's cache (spec/faults.md).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <string.h>

#define MAX_WIDTH 8192
#define MAX_SLOTS 64
#define MAX_SIG 8192 /* slots * shapes */

typedef struct {
    PyObject_HEAD
    long *plan;
    Py_ssize_t nplan;
    long width;
} Canon;

/* ---- comparison helpers -------------------------------------------------------------------- */

static int cmp_blocks(const long *v, long a, long b, long stride) {
    for (long i = 0; i < stride; i++) {
        if (v[a + i] != v[b + i]) return v[a + i] < v[b + i] ? -1 : 1;
    }
    return 0;
}

/* key of slot j: own key values, then signature counts (highest shape first), then j */
static int cmp_slots(const long *v, long base, long stride, const long *keyoffs, long nkey,
                     const long *sig, long nshapes, long a, long b) {
    for (long i = 0; i < nkey; i++) {
        long x = v[base + a * stride + keyoffs[i]], y = v[base + b * stride + keyoffs[i]];
        if (x != y) return x < y ? -1 : 1;
    }
    for (long s = nshapes - 1; s >= 0; s--) {
        long x = sig[a * nshapes + s], y = sig[b * nshapes + s];
        if (x != y) return x < y ? -1 : 1;
    }
    return a < b ? -1 : (a > b ? 1 : 0);
}

/* The representative of v (width plan[0]) in place: the whole algorithm, on plain longs (the
 * generated C search calls it through the capsule of canon_capsule, with no tuple). */
static void canon_longs(const long *plan, long *v) {
    long tmp[MAX_WIDTH];
    const long *p = plan;
    long nsteps = p[1];
    p += 2;
    long order[MAX_SLOTS];
    long newpos[MAX_SLOTS];
    static _Thread_local long sig[MAX_SIG]; /* per thread: store_par.c calls it on several */
    for (long step = 0; step < nsteps; step++) {
        long mode = p[0], base = p[1], slots = p[2], stride = p[3];
        p += 4;
        for (long j = 0; j < slots; j++) order[j] = j;
        if (mode == 0) {
            /* insertion sort of whole blocks, descending (equal blocks are identical) */
            for (long i = 1; i < slots; i++) {
                long cur = order[i], k = i - 1;
                while (k >= 0 &&
                       cmp_blocks(v, base + order[k] * stride, base + cur * stride, stride) < 0) {
                    order[k + 1] = order[k];
                    k--;
                }
                order[k + 1] = cur;
            }
        } else {
            long nkey = p[0];
            const long *keyoffs = p + 1;
            p += 1 + nkey;
            long nshapes = p[0];
            long nsites = p[1];
            p += 2;
            memset(sig, 0, sizeof(long) * (size_t)(slots * nshapes));
            for (long si = 0; si < nsites; si++) {
                long jbase = p[0], jslots = p[1], jstride = p[2], refoff = p[3], flag = p[4];
                long shape0 = p[5], nparts = p[6];
                const long *parts = p + 7;
                for (long js = 0; js < jslots; js++) {
                    long jb = jbase + js * jstride;
                    if (!v[jb + flag]) continue;
                    long target = v[jb + refoff];
                    if (target < 0) continue;
                    long index = 0;
                    for (long q = 0; q < nparts; q++) {
                        index = index * parts[3 * q + 2] + (v[jb + parts[3 * q]] - parts[3 * q + 1]);
                    }
                    sig[target * nshapes + shape0 + index] += 1;
                }
                p += 7 + 3 * nparts;
            }
            long nvars = p[0];
            const long *vars = p + 1;
            for (long vi = 0; vi < nvars; vi++) {
                long target = v[vars[2 * vi]];
                if (target >= 0) sig[target * nshapes + vars[2 * vi + 1]] += 1;
            }
            for (long i = 1; i < slots; i++) {
                long cur = order[i], k = i - 1;
                while (k >= 0 && cmp_slots(v, base, stride, keyoffs, nkey, sig, nshapes,
                                           order[k], cur) < 0) {
                    order[k + 1] = order[k];
                    k--;
                }
                order[k + 1] = cur;
            }
            p += 1 + 2 * nvars;
            int identity = 1;
            for (long j = 0; j < slots; j++) {
                if (order[j] != j) identity = 0;
            }
            if (!identity) {
                /* Renumber every reference to this kind; the blocks move afterwards, carrying
                   renumbered values along (a kind may refer to itself). */
                for (long j = 0; j < slots; j++) newpos[order[j]] = j;
                const long *site = keyoffs + nkey + 2;
                for (long si = 0; si < nsites; si++) {
                    long jbase = site[0], jslots = site[1], jstride = site[2], refoff = site[3];
                    long flag = site[4], nparts = site[6];
                    for (long js = 0; js < jslots; js++) {
                        long jb = jbase + js * jstride;
                        if (v[jb + flag] && v[jb + refoff] >= 0)
                            v[jb + refoff] = newpos[v[jb + refoff]];
                    }
                    site += 7 + 3 * nparts;
                }
                for (long vi = 0; vi < nvars; vi++) {
                    long idx = vars[2 * vi];
                    if (v[idx] >= 0) v[idx] = newpos[v[idx]];
                }
            }
        }
        /* move the blocks into `order` */
        int moved = 0;
        for (long j = 0; j < slots; j++) if (order[j] != j) moved = 1;
        if (moved) {
            long len = slots * stride;
            for (long j = 0; j < slots; j++) {
                memcpy(tmp + j * stride, v + base + order[j] * stride, sizeof(long) * (size_t)stride);
            }
            memcpy(v + base, tmp, sizeof(long) * (size_t)len);
        }
    }
}

/* ---- one call -------------------------------------------------------------------------------- */

static PyObject *canon_call(Canon *self, PyObject *args, PyObject *kwargs) {
    PyObject *state;
    if (kwargs && PyDict_GET_SIZE(kwargs)) {
        PyErr_SetString(PyExc_TypeError, "canon() takes no keyword arguments");
        return NULL;
    }
    if (!PyArg_ParseTuple(args, "O!", &PyTuple_Type, &state)) return NULL;
    Py_ssize_t n = PyTuple_GET_SIZE(state);
    if (n != self->width) {
        PyErr_SetString(PyExc_ValueError, "state has the wrong width for this model");
        return NULL;
    }
    long v[MAX_WIDTH], orig[MAX_WIDTH];
    for (Py_ssize_t i = 0; i < n; i++) {
        long x = PyLong_AsLong(PyTuple_GET_ITEM(state, i));
        if (x == -1 && PyErr_Occurred()) return NULL;
        v[i] = orig[i] = x;
    }
    canon_longs(self->plan, v);
    int same = 1;
    for (Py_ssize_t i = 0; i < n; i++) {
        if (v[i] != orig[i]) { same = 0; break; }
    }
    if (same) {
        Py_INCREF(state);
        return state;
    }
    PyObject *out = PyTuple_New(n);
    if (!out) return NULL;
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *item;
        if (v[i] == orig[i]) {
            item = PyTuple_GET_ITEM(state, i);
            Py_INCREF(item);
        } else {
            item = PyLong_FromLong(v[i]);
            if (!item) { Py_DECREF(out); return NULL; }
        }
        PyTuple_SET_ITEM(out, i, item);
    }
    return out;
}

/* ---- construction: validate the plan once, so a call can trust it ---------------------------- */

static int plan_ok(const long *p, Py_ssize_t n) {
    if (n < 2 || p[0] < 0 || p[0] > MAX_WIDTH) return 0;
    long width = p[0], nsteps = p[1];
    Py_ssize_t i = 2;
#define NEED(k) do { if (i + (k) > n) return 0; } while (0)
    for (long s = 0; s < nsteps; s++) {
        NEED(4);
        long mode = p[i], base = p[i + 1], slots = p[i + 2], stride = p[i + 3];
        i += 4;
        if (slots < 0 || slots > MAX_SLOTS || stride < 1 || base < 0 ||
            base + slots * stride > width || (mode != 0 && mode != 1))
            return 0;
        if (mode == 0) continue;
        NEED(1);
        long nkey = p[i++];
        NEED(nkey);
        for (long k = 0; k < nkey; k++) if (p[i + k] < 0 || p[i + k] >= stride) return 0;
        i += nkey;
        NEED(2);
        long nshapes = p[i], nsites = p[i + 1];
        i += 2;
        if (nshapes < 0 || slots * nshapes > MAX_SIG) return 0;
        for (long si = 0; si < nsites; si++) {
            NEED(7);
            long jbase = p[i], jslots = p[i + 1], jstride = p[i + 2], refoff = p[i + 3];
            long flag = p[i + 4], shape0 = p[i + 5], nparts = p[i + 6];
            i += 7;
            if (jbase < 0 || jslots < 0 || jstride < 1 || jbase + jslots * jstride > width ||
                refoff < 1 || refoff >= jstride || flag < 0 || flag >= jstride || nparts < 0)
                return 0;
            NEED(3 * nparts);
            long count = 1;
            for (long q = 0; q < nparts; q++) {
                long off = p[i + 3 * q], size = p[i + 3 * q + 2];
                if (off < 1 || off >= jstride || size < 1) return 0;
                count *= size;
                if (count > MAX_SIG) return 0;
            }
            if (shape0 < 0 || shape0 + count > nshapes) return 0;
            i += 3 * nparts;
        }
        NEED(1);
        long nvars = p[i++];
        NEED(2 * nvars);
        for (long vi = 0; vi < nvars; vi++) {
            if (p[i + 2 * vi] < 0 || p[i + 2 * vi] >= width) return 0;
            if (p[i + 2 * vi + 1] < 0 || p[i + 2 * vi + 1] >= nshapes) return 0;
        }
        i += 2 * nvars;
    }
#undef NEED
    return i == n;
}

/* The C entry for store_gen.c: a capsule "kcheck.canon" holding this object's KcanonApi (the
 * capsule keeps the object alive). */
typedef struct {
    int abi;
    long width;
    void (*canon)(const long *plan, long *v);
    const long *plan;
} KcanonApi;
#define KCANON_ABI 1

static void capsule_free(PyObject *cap) {
    PyMem_Free(PyCapsule_GetPointer(cap, "kcheck.canon"));
    Py_XDECREF((PyObject *)PyCapsule_GetContext(cap));
}

static PyObject *canon_capsule(Canon *self, PyObject *Py_UNUSED(arg)) {
    KcanonApi *api = PyMem_Malloc(sizeof(KcanonApi));
    if (!api) return PyErr_NoMemory();
    api->abi = KCANON_ABI;
    api->width = self->width;
    api->canon = canon_longs;
    api->plan = self->plan;
    PyObject *cap = PyCapsule_New(api, "kcheck.canon", capsule_free);
    if (!cap) {
        PyMem_Free(api);
        return NULL;
    }
    Py_INCREF(self);
    if (PyCapsule_SetContext(cap, self) < 0) {
        Py_DECREF(self);
        Py_DECREF(cap);
        return NULL;
    }
    return cap;
}

static PyMethodDef canon_methods[] = {
    {"capsule", (PyCFunction)canon_capsule, METH_NOARGS, "the C entry, for the generated search"},
    {NULL, NULL, 0, NULL},
};

static void canon_dealloc(Canon *self) {
    PyMem_Free(self->plan);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyTypeObject CanonType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "kcheck._canon.Canon",
    .tp_basicsize = sizeof(Canon),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_call = (ternaryfunc)canon_call,
    .tp_dealloc = (destructor)canon_dealloc,
    .tp_methods = canon_methods,
    .tp_doc = "canon(state) -> the representative of state's symmetry class",
};

static PyObject *make(PyObject *Py_UNUSED(module), PyObject *arg) {
    PyObject *seq = PySequence_Fast(arg, "plan must be a sequence of ints");
    if (!seq) return NULL;
    Py_ssize_t n = PySequence_Fast_GET_SIZE(seq);
    long *plan = PyMem_Malloc(sizeof(long) * (size_t)(n + 1));
    if (!plan) { Py_DECREF(seq); return PyErr_NoMemory(); }
    for (Py_ssize_t i = 0; i < n; i++) {
        plan[i] = PyLong_AsLong(PySequence_Fast_GET_ITEM(seq, i));
        if (plan[i] == -1 && PyErr_Occurred()) { PyMem_Free(plan); Py_DECREF(seq); return NULL; }
    }
    Py_DECREF(seq);
    if (!plan_ok(plan, n)) {
        PyMem_Free(plan);
        PyErr_SetString(PyExc_ValueError, "malformed canonicalisation plan");
        return NULL;
    }
    Canon *self = PyObject_New(Canon, &CanonType);
    if (!self) { PyMem_Free(plan); return NULL; }
    self->plan = plan;
    self->nplan = n;
    self->width = plan[0];
    return (PyObject *)self;
}

static PyMethodDef methods[] = {
    {"make", make, METH_O, "make(plan) -> a canonicaliser for states of one model"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_canon", NULL, -1, methods, NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__canon(void) {
    if (PyType_Ready(&CanonType) < 0) return NULL;
    return PyModule_Create(&module);
}
