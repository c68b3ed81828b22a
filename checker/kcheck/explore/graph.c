/* The graph work of the liveness check (kcheck/explore/liveness.py) in C: Tarjan's strongly
 * connected components of the subgraph of `keep` nodes, with each component's fairness
 * summary, the stuttering nodes, and reachability through allowed nodes. The Python code in
 * liveness.py stays the reference: the components come out in exactly the order, and with their
 * members in exactly the order, its `_sccs` gives (tests/explore/test_liveness_native.py holds
 * them to it). Built on first use by kcheck/model/native.py.
 *
 * The graph's arrays are read in place through the buffer protocol, whatever their integer
 * type (the search stores 'q' starts, 'i' targets, 'H' actions, 'Q' enabled masks; a
 * simulation's graph has 'q' everywhere). Results are bytes objects Python views with
 * memoryview.cast: no Python int per node.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

typedef struct {
    Py_buffer view;
    const char *p;
    Py_ssize_t len;  /* items */
    int size;        /* bytes per item */
    int is_signed;
    int held;
} Ints;

static int ints_get(PyObject *obj, Ints *b, const char *what) {
    memset(b, 0, sizeof *b);
    if (PyObject_GetBuffer(obj, &b->view, PyBUF_FORMAT | PyBUF_C_CONTIGUOUS) < 0) return -1;
    b->held = 1;
    const char *f = b->view.format ? b->view.format : "B";
    if (*f == '@' || *f == '=' || *f == '<') f++;
    int size = (int)b->view.itemsize;
    if (strlen(f) != 1 || !strchr("bBhHiIlLqQnN", *f) || (size != 1 && size != 2 && size != 4 && size != 8)) {
        PyErr_Format(PyExc_TypeError, "%s: an array of integers is needed", what);
        return -1;
    }
    b->p = (const char *)b->view.buf;
    b->size = size;
    b->is_signed = (*f >= 'a' && *f <= 'z');
    b->len = b->view.len / size;
    return 0;
}

static void ints_release(Ints *b) {
    if (b->held) PyBuffer_Release(&b->view);
    b->held = 0;
}

static inline int64_t rd(const Ints *b, Py_ssize_t i) {
    switch (b->size) {
    case 1: return b->is_signed ? (int64_t)((const int8_t *)b->p)[i] : (int64_t)((const uint8_t *)b->p)[i];
    case 2: return b->is_signed ? (int64_t)((const int16_t *)b->p)[i] : (int64_t)((const uint16_t *)b->p)[i];
    case 4: return b->is_signed ? (int64_t)((const int32_t *)b->p)[i] : (int64_t)((const uint32_t *)b->p)[i];
    default: return ((const int64_t *)b->p)[i];
    }
}

static inline uint64_t rdu(const Ints *b, Py_ssize_t i) {
    return b->size == 8 ? ((const uint64_t *)b->p)[i] : (uint64_t)rd(b, i);
}

/* the shape every function checks: edge_start has n + 1 rising entries within edge_to */
static int check_edges(const Ints *start, const Ints *to, Py_ssize_t *n_out) {
    Py_ssize_t n = start->len - 1;
    if (n < 0 || n > 0x7FFFFFF0) {
        PyErr_SetString(PyExc_ValueError, "edge_start: one entry per node and one more");
        return -1;
    }
    int64_t prev = 0;
    for (Py_ssize_t i = 0; i <= n; i++) {
        int64_t s = rd(start, i);
        if (s < prev || s > to->len || (i == 0 && s != 0)) {
            PyErr_SetString(PyExc_ValueError, "edge_start: not a rising list of edge offsets");
            return -1;
        }
        prev = s;
    }
    *n_out = n;
    return 0;
}

/* an optional per-node byte mask (None: every node), at least n long */
static int keep_get(PyObject *obj, Ints *b, Py_ssize_t n, const char *what) {
    memset(b, 0, sizeof *b);
    if (obj == Py_None) return 0;
    if (ints_get(obj, b, what) < 0) return -1;
    if (b->size != 1 || b->len < n) {
        PyErr_Format(PyExc_ValueError, "%s: one byte per node is needed", what);
        return -1;
    }
    return 0;
}

static inline int kept(const Ints *keep, Py_ssize_t u) {
    return keep->p == NULL || keep->p[u] != 0;
}

static int check_roots(const Ints *roots, Py_ssize_t n) {
    for (Py_ssize_t i = 0; i < roots->len; i++) {
        int64_t r = rd(roots, i);
        if (r < 0 || r >= n) {
            PyErr_SetString(PyExc_IndexError, "a root is not a node");
            return -1;
        }
    }
    return 0;
}

typedef struct {
    int32_t node;
    int64_t k; /* the next edge of node to look at */
} Frame;

/* sccs(edge_start, edge_to, edge_act, enabled, keep, roots, nontrivial_only)
 *   -> (members, offsets, taken, self_loop, enabled_all, enabled_any)
 * members: int32 bytes, the components one after the other; offsets: int64 bytes, component i
 * is members[offsets[i]:offsets[i + 1]]; taken, enabled_all, enabled_any: uint64 bytes, one per
 * component (actions taken on its internal edges; the AND and OR of its members' enabled
 * masks); self_loop: one byte per component. keep None: every node; roots None: every node in
 * order. nontrivial_only: leave out the single nodes without a self loop. Actions must be < 64. */
static PyObject *sccs(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    (void)self;
    if (nargs != 7) {
        PyErr_SetString(PyExc_TypeError, "sccs takes 7 arguments");
        return NULL;
    }
    int nontrivial_only = PyObject_IsTrue(args[6]);
    if (nontrivial_only < 0) return NULL;
    Ints start = {0}, to = {0}, act = {0}, en = {0}, keep = {0}, roots = {0};
    PyObject *result = NULL;
    int32_t *index = NULL, *low = NULL, *stack = NULL, *cid = NULL, *members = NULL;
    uint8_t *on_stack = NULL, *loops = NULL;
    Frame *work = NULL;
    int64_t *offsets = NULL;
    uint64_t *taken = NULL, *all = NULL, *any = NULL;
    Py_ssize_t n;
    if (ints_get(args[0], &start, "edge_start") < 0 || ints_get(args[1], &to, "edge_to") < 0 ||
        ints_get(args[2], &act, "edge_act") < 0 || ints_get(args[3], &en, "enabled") < 0 ||
        check_edges(&start, &to, &n) < 0 || keep_get(args[4], &keep, n, "keep") < 0)
        goto done;
    if (act.len < to.len || en.len < n) {
        PyErr_SetString(PyExc_ValueError, "edge_act or enabled is too short");
        goto done;
    }
    if (args[5] != Py_None && (ints_get(args[5], &roots, "roots") < 0 || check_roots(&roots, n) < 0))
        goto done;
    size_t nn = (size_t)n + 1;
    index = PyMem_Malloc(nn * sizeof *index);
    low = PyMem_Malloc(nn * sizeof *low);
    stack = PyMem_Malloc(nn * sizeof *stack);
    cid = PyMem_Malloc(nn * sizeof *cid);
    members = PyMem_Malloc(nn * sizeof *members);
    on_stack = PyMem_Calloc(nn, 1);
    work = PyMem_Malloc(nn * sizeof *work);
    /* per component; at most n of them */
    offsets = PyMem_Malloc((nn + 1) * sizeof *offsets);
    taken = PyMem_Malloc(nn * sizeof *taken);
    all = PyMem_Malloc(nn * sizeof *all);
    any = PyMem_Malloc(nn * sizeof *any);
    loops = PyMem_Malloc(nn);
    if (!index || !low || !stack || !cid || !members || !on_stack || !work || !offsets || !taken ||
        !all || !any || !loops) {
        PyErr_NoMemory();
        goto done;
    }
    for (Py_ssize_t i = 0; i < n; i++) index[i] = -1, cid[i] = -1;
    Py_ssize_t nroots = args[5] == Py_None ? n : roots.len;
    int32_t counter = 0;
    Py_ssize_t sp = 0, nm = 0, nc = 0;
    offsets[0] = 0;
    for (Py_ssize_t r = 0; r < nroots; r++) {
        int32_t root = args[5] == Py_None ? (int32_t)r : (int32_t)rd(&roots, r);
        if (index[root] >= 0 || !kept(&keep, root)) continue;
        Py_ssize_t depth = 0;
        work[depth++] = (Frame){root, rd(&start, root)};
        index[root] = low[root] = counter++;
        stack[sp++] = root;
        on_stack[root] = 1;
        while (depth > 0) {
            int32_t u = work[depth - 1].node;
            int64_t k = work[depth - 1].k;
            int64_t end = rd(&start, (Py_ssize_t)u + 1);
            int advanced = 0;
            while (k < end) {
                int64_t v64 = rd(&to, k);
                k++;
                if (v64 < 0 || v64 >= n) {
                    PyErr_SetString(PyExc_IndexError, "an edge leads to no node");
                    goto done;
                }
                int32_t v = (int32_t)v64;
                if (!kept(&keep, v)) continue;
                if (index[v] < 0) {
                    work[depth - 1].k = k;
                    index[v] = low[v] = counter++;
                    stack[sp++] = v;
                    on_stack[v] = 1;
                    work[depth++] = (Frame){v, rd(&start, v)};
                    advanced = 1;
                    break;
                }
                if (on_stack[v] && index[v] < low[u]) low[u] = index[v];
            }
            if (advanced) continue;
            depth--;
            if (depth > 0) {
                int32_t p = work[depth - 1].node;
                if (low[u] < low[p]) low[p] = low[u];
            }
            if (low[u] != index[u]) continue;
            /* pop the component, in the order Python's list gets it */
            Py_ssize_t first = nm;
            for (;;) {
                int32_t w = stack[--sp];
                on_stack[w] = 0;
                cid[w] = (int32_t)nc;
                members[nm++] = w;
                if (w == u) break;
            }
            uint64_t t = 0, a_all = ~(uint64_t)0, a_any = 0;
            uint8_t loop = 0;
            for (Py_ssize_t i = first; i < nm; i++) {
                int32_t x = members[i];
                int64_t e_end = rd(&start, (Py_ssize_t)x + 1);
                for (int64_t e = rd(&start, x); e < e_end; e++) {
                    int64_t y = rd(&to, e);
                    if (y < 0 || y >= n) {
                        PyErr_SetString(PyExc_IndexError, "an edge leads to no node");
                        goto done;
                    }
                    if (cid[y] != (int32_t)nc) continue;
                    int64_t a = rd(&act, e);
                    if (a < 0 || a >= 64) {
                        PyErr_SetString(PyExc_ValueError, "an action number is not below 64");
                        goto done;
                    }
                    t |= (uint64_t)1 << a;
                    if (y == x) loop = 1;
                }
                uint64_t m = rdu(&en, x);
                a_all &= m;
                a_any |= m;
            }
            if (nontrivial_only && nm - first == 1 && !loop) {
                nm = first; /* cid stays: no later component reuses the number nc */
                cid[members[first]] = -2;
                continue;
            }
            taken[nc] = t;
            all[nc] = a_all;
            any[nc] = a_any;
            loops[nc] = loop;
            offsets[++nc] = nm;
        }
    }
    result = Py_BuildValue("(y#y#y#y#y#y#)", (const char *)members, nm * (Py_ssize_t)sizeof *members,
                           (const char *)offsets, (nc + 1) * (Py_ssize_t)sizeof *offsets,
                           (const char *)taken, nc * (Py_ssize_t)sizeof *taken,
                           (const char *)loops, nc,
                           (const char *)all, nc * (Py_ssize_t)sizeof *all,
                           (const char *)any, nc * (Py_ssize_t)sizeof *any);
done:
    PyMem_Free(index);
    PyMem_Free(low);
    PyMem_Free(stack);
    PyMem_Free(cid);
    PyMem_Free(members);
    PyMem_Free(on_stack);
    PyMem_Free(work);
    PyMem_Free(offsets);
    PyMem_Free(taken);
    PyMem_Free(all);
    PyMem_Free(any);
    PyMem_Free(loops);
    ints_release(&start);
    ints_release(&to);
    ints_release(&act);
    ints_release(&en);
    ints_release(&keep);
    ints_release(&roots);
    return result;
}

/* stuttering(enabled, keep, roots, mask) -> int32 bytes: the nodes of roots (None: every node,
 * in order), in order, that are kept and have no action of mask enabled */
static PyObject *stuttering(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    (void)self;
    if (nargs != 4) {
        PyErr_SetString(PyExc_TypeError, "stuttering takes 4 arguments");
        return NULL;
    }
    uint64_t mask = PyLong_AsUnsignedLongLongMask(args[3]);
    if (PyErr_Occurred()) return NULL;
    Ints en = {0}, keep = {0}, roots = {0};
    PyObject *result = NULL;
    int32_t *out = NULL;
    if (ints_get(args[0], &en, "enabled") < 0) goto done;
    Py_ssize_t n = en.len;
    if (keep_get(args[1], &keep, n, "keep") < 0) goto done;
    if (args[2] != Py_None && (ints_get(args[2], &roots, "roots") < 0 || check_roots(&roots, n) < 0))
        goto done;
    Py_ssize_t nroots = args[2] == Py_None ? n : roots.len;
    out = PyMem_Malloc(((size_t)nroots + 1) * sizeof *out);
    if (!out) {
        PyErr_NoMemory();
        goto done;
    }
    Py_ssize_t m = 0;
    for (Py_ssize_t r = 0; r < nroots; r++) {
        Py_ssize_t u = args[2] == Py_None ? r : (Py_ssize_t)rd(&roots, r);
        if (kept(&keep, u) && !(rdu(&en, u) & mask)) out[m++] = (int32_t)u;
    }
    result = PyBytes_FromStringAndSize((const char *)out, m * (Py_ssize_t)sizeof *out);
done:
    PyMem_Free(out);
    ints_release(&en);
    ints_release(&keep);
    ints_release(&roots);
    return result;
}

/* reach(edge_start, edge_to, allowed, starts) -> bytearray: 1 for each start and each node
 * reachable from one through allowed nodes (the starts themselves need not be allowed) */
static PyObject *reach(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    (void)self;
    if (nargs != 4) {
        PyErr_SetString(PyExc_TypeError, "reach takes 4 arguments");
        return NULL;
    }
    Ints start = {0}, to = {0}, allowed = {0}, starts = {0};
    PyObject *result = NULL;
    int32_t *queue = NULL;
    Py_ssize_t n;
    if (ints_get(args[0], &start, "edge_start") < 0 || ints_get(args[1], &to, "edge_to") < 0 ||
        check_edges(&start, &to, &n) < 0 || keep_get(args[2], &allowed, n, "allowed") < 0 ||
        ints_get(args[3], &starts, "starts") < 0 || check_roots(&starts, n) < 0)
        goto done;
    result = PyByteArray_FromStringAndSize(NULL, n);
    if (!result) goto done;
    queue = PyMem_Malloc(((size_t)n + 1) * sizeof *queue);
    if (!queue) {
        Py_CLEAR(result);
        PyErr_NoMemory();
        goto done;
    }
    char *seen = PyByteArray_AS_STRING(result);
    memset(seen, 0, (size_t)n);
    Py_ssize_t head = 0, tail = 0;
    for (Py_ssize_t i = 0; i < starts.len; i++) {
        Py_ssize_t u = (Py_ssize_t)rd(&starts, i);
        if (!seen[u]) seen[u] = 1, queue[tail++] = (int32_t)u;
    }
    while (head < tail) {
        int32_t u = queue[head++];
        int64_t end = rd(&start, (Py_ssize_t)u + 1);
        for (int64_t e = rd(&start, u); e < end; e++) {
            int64_t v = rd(&to, e);
            if (v < 0 || v >= n) {
                PyErr_SetString(PyExc_IndexError, "an edge leads to no node");
                Py_CLEAR(result);
                goto done;
            }
            if (kept(&allowed, v) && !seen[v]) seen[v] = 1, queue[tail++] = (int32_t)v;
        }
    }
done:
    PyMem_Free(queue);
    ints_release(&start);
    ints_release(&to);
    ints_release(&allowed);
    ints_release(&starts);
    return result;
}

static PyMethodDef methods[] = {
    {"sccs", (PyCFunction)(void (*)(void))sccs, METH_FASTCALL,
     "sccs(edge_start, edge_to, edge_act, enabled, keep, roots, nontrivial_only) -> (members, "
     "offsets, taken, self_loop, enabled_all, enabled_any)"},
    {"stuttering", (PyCFunction)(void (*)(void))stuttering, METH_FASTCALL,
     "stuttering(enabled, keep, roots, mask) -> the kept roots with no action of mask enabled"},
    {"reach", (PyCFunction)(void (*)(void))reach, METH_FASTCALL,
     "reach(edge_start, edge_to, allowed, starts) -> bytearray of the nodes reached"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_graph", NULL, -1, methods, NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__graph(void) { return PyModule_Create(&module); }
