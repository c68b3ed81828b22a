/* Native visited-state store for the breadth-first search: every state packed into a fixed
 * number of bits, kept in insertion order (the index is the BFS queue position), with its
 * parent's index, and found again through an open-addressing hash table. The same contract as
 * the pure-Python PyStore in kcheck/explore/store.py, which stays the reference
 * (tests/explore/test_store.py holds them to it). Built on first use by kcheck/model/native.py.
 *
 * A plan gives, per state position, (lo, bits): the value v is stored as v - lo in `bits` bits
 * (0 bits: the position always holds lo; 64 bits: the raw two's-complement value). A value that
 * does not fit widens its position to 64 bits and re-packs every stored state (a layout's
 * ranges are exact for declared fields; unbounded cells start narrow), so no value is ever
 * truncated.
 *
 * Memory per state: the packed key (ceil(bits/8) bytes), a 4-byte parent index and 8/load
 * bytes of table (load 0.35..0.7). The table holds (high 32 bits of the hash, index + 1): a
 * probe compares keys only when the tags match. A state's home slot is its tag's top bits, so
 * a larger table is made from the entries alone, without reading or hashing a key.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

#define MAX_INDEX 0x7FFFFFF0u /* parents are int32 */

typedef struct {
    PyObject_HEAD
    Py_ssize_t width;       /* positions in a state tuple */
    int64_t *lo;            /* per position */
    uint8_t *bits;          /* per position, 0..64 */
    int64_t *off;           /* bit offset of each position in the key */
    Py_ssize_t nwords;      /* 64-bit words of the unpacked key */
    Py_ssize_t keylen;      /* bytes stored per key */
    uint64_t *scratch;      /* nwords + 1 words */
    unsigned char *keys;    /* cap * keylen */
    int32_t *parent;        /* cap */
    Py_ssize_t n, cap;
    uint64_t *table;        /* tsize entries: (tag << 32) | (index + 1), 0 empty */
    size_t tsize;           /* a power of two, at most 2^32 */
    unsigned tshift;        /* 32 - log2(tsize): a tag's home slot is tag >> tshift */
    Py_ssize_t widened;     /* how many positions were widened to 64 bits */
    /* the level a distributed search's worker is storing (store_dist.c): the states from
     * lbase on, each with its least discovery key so far and the pending invariants that
     * may not hold of it */
    int64_t *lkey;
    uint64_t *lmask;
    Py_ssize_t lbase, lcap, lloose;
} Store;

static PyTypeObject StoreType;

/* ---- layout ---------------------------------------------------------------------------------- */

static int layout_keys(Store *S) {
    int64_t total = 0;
    for (Py_ssize_t i = 0; i < S->width; i++) {
        S->off[i] = total;
        total += S->bits[i];
    }
    S->nwords = (Py_ssize_t)((total + 63) / 64);
    S->keylen = (Py_ssize_t)((total + 7) / 8);
    PyMem_Free(S->scratch);
    S->scratch = PyMem_Calloc((size_t)S->nwords + 1, sizeof(uint64_t));
    if (!S->scratch) {
        PyErr_NoMemory();
        return -1;
    }
    return 0;
}

/* bytes for cap keys (never 0: a model whose every position is constant packs to 0 bytes) */
static size_t key_space(const Store *S, Py_ssize_t cap) {
    return (size_t)cap * (size_t)S->keylen + 8;
}

static uint64_t hash_key(const uint64_t *w, Py_ssize_t n) {
    uint64_t h = 0x9E3779B97F4A7C15ULL ^ (uint64_t)n;
    for (Py_ssize_t i = 0; i < n; i++) {
        h = (h ^ w[i]) * 0xBF58476D1CE4E5B9ULL;
        h ^= h >> 29;
    }
    h ^= h >> 33;
    h *= 0xFF51AFD7ED558CCDULL;
    h ^= h >> 33;
    h *= 0xC4CEB9FE1A85EC53ULL;
    h ^= h >> 33;
    return h;
}

/* the value at position i of the key in `w` (unpacked words); inlined into every unpacking
 * loop, where a call per position cost a tenth of the search */
static inline __attribute__((always_inline)) int64_t get_field(const Store *S, const uint64_t *w, Py_ssize_t i) {
    unsigned b = S->bits[i];
    if (b == 0) return S->lo[i];
    int64_t off = S->off[i];
    Py_ssize_t q = (Py_ssize_t)(off >> 6);
    unsigned sh = (unsigned)(off & 63);
    uint64_t u = w[q] >> sh;
    if (sh + b > 64) u |= w[q + 1] << (64 - sh);
    if (b == 64) return (int64_t)u;
    u &= (((uint64_t)1) << b) - 1;
    return (int64_t)((uint64_t)S->lo[i] + u);
}

static void put_field(const Store *S, uint64_t *w, Py_ssize_t i, uint64_t u) {
    unsigned b = S->bits[i];
    if (b == 0) return;
    int64_t off = S->off[i];
    Py_ssize_t q = (Py_ssize_t)(off >> 6);
    unsigned sh = (unsigned)(off & 63);
    w[q] |= u << sh;
    if (sh + b > 64) w[q + 1] |= u >> (64 - sh);
}

/* does v fit position i? then *u is its stored form */
static int fits(const Store *S, Py_ssize_t i, int64_t v, uint64_t *u) {
    unsigned b = S->bits[i];
    if (b == 64) {
        *u = (uint64_t)v;
        return 1;
    }
    if (v < S->lo[i]) return 0;
    uint64_t d = (uint64_t)v - (uint64_t)S->lo[i];
    if (b < 64 && (d >> b) != 0) return 0;
    *u = d;
    return 1;
}

/* Pack row (width values) into key (nwords + 1 words; zeroed here) with the store's layout:
 * -1, or the first position whose value does not fit. The word being filled stays in a
 * register: this is the hottest loop of the search. The same packing as put_field and fits. */
static inline Py_ssize_t pack_key(const Store *S, const int64_t *row, uint64_t *key) {
    const uint8_t *bits = S->bits;
    const int64_t *lo = S->lo, *off = S->off;
    Py_ssize_t q = 0;
    uint64_t acc = 0;
    memset(key, 0, sizeof(uint64_t) * (size_t)(S->nwords + 1));
    for (Py_ssize_t f = 0; f < S->width; f++) {
        unsigned b = bits[f];
        uint64_t u = (uint64_t)row[f];
        if (b < 64) {
            if (row[f] < lo[f]) return f;
            u -= (uint64_t)lo[f];
            if ((u >> b) != 0) return f;
            if (b == 0) continue;
        }
        Py_ssize_t wq = (Py_ssize_t)(off[f] >> 6);
        unsigned sh = (unsigned)(off[f] & 63);
        if (wq != q) {
            key[q] |= acc;
            q = wq;
            acc = 0;
        }
        acc |= u << sh;
        if (sh + b > 64) key[q + 1] |= u >> (64 - sh);
    }
    key[q] |= acc;
    return -1;
}

static void load_key(const Store *S, Py_ssize_t idx, uint64_t *w) {
    memset(w, 0, sizeof(uint64_t) * (size_t)(S->nwords + 1));
    if (S->keylen) memcpy(w, S->keys + idx * S->keylen, (size_t)S->keylen);
}

/* ---- the table ------------------------------------------------------------------------------- */

/* the first slot to probe for hash h */
static inline size_t home(const Store *S, uint64_t h) {
    return (size_t)(h >> 32) >> S->tshift;
}

static Py_ssize_t find(const Store *S, uint64_t h, size_t *slot) {
    size_t mask = S->tsize - 1, pos = home(S, h);
    uint64_t tag = h >> 32;
    for (;;) {
        uint64_t e = S->table[pos];
        if (e == 0) {
            *slot = pos;
            return -1;
        }
        if ((e >> 32) == tag) {
            Py_ssize_t idx = (Py_ssize_t)(uint32_t)e - 1;
            if (memcmp(S->keys + idx * S->keylen, S->scratch, (size_t)S->keylen) == 0)
                return idx;
        }
        pos = (pos + 1) & mask;
    }
}

static void set_tsize(Store *S, size_t tsize) {
    unsigned bits = 0;
    while (((size_t)1 << bits) < tsize) bits++;
    S->tsize = tsize;
    S->tshift = 32 - bits;
}

/* The table anew at tsize entries, from the keys (their hashes change when a position widens) */
static int rebuild_table(Store *S, size_t tsize) {
    uint64_t *t = PyMem_Calloc(tsize, sizeof(uint64_t));
    if (!t) {
        PyErr_NoMemory();
        return -1;
    }
    /* its own buffer: the caller's key to insert is in scratch */
    uint64_t *w = PyMem_Calloc((size_t)S->nwords + 1, sizeof(uint64_t));
    if (!w) {
        PyMem_Free(t);
        PyErr_NoMemory();
        return -1;
    }
    PyMem_Free(S->table);
    S->table = t;
    set_tsize(S, tsize);
    for (Py_ssize_t idx = 0; idx < S->n; idx++) {
        load_key(S, idx, w);
        uint64_t h = hash_key(w, S->nwords);
        size_t pos = home(S, h);
        while (t[pos]) pos = (pos + 1) & (tsize - 1);
        t[pos] = ((h >> 32) << 32) | (uint64_t)(idx + 1);
    }
    PyMem_Free(w);
    return 0;
}

/* The table at twice its size, from its entries: each one's tag says where it goes. */
static int grow_table(Store *S) {
    size_t old = S->tsize;
    uint64_t *from = S->table;
    if (old >= ((size_t)1 << 32)) {
        PyErr_SetString(PyExc_MemoryError, "the state store's table is full");
        return -1;
    }
    uint64_t *t = PyMem_Calloc(old * 2, sizeof(uint64_t));
    if (!t) {
        PyErr_NoMemory();
        return -1;
    }
    set_tsize(S, old * 2);
    size_t mask = S->tsize - 1;
    for (size_t k = 0; k < old; k++) {
        uint64_t e = from[k];
        if (!e) continue;
        size_t pos = (size_t)(e >> 32) >> S->tshift;
        while (t[pos]) pos = (pos + 1) & mask;
        t[pos] = e;
    }
    S->table = t;
    PyMem_Free(from);
    return 0;
}

/* Position i holds a value its bits cannot: give it 64 bits and re-pack every stored key. */
static int widen(Store *S, Py_ssize_t i) {
    Py_ssize_t n = S->n, oldlen = S->keylen, oldwords = S->nwords;
    int64_t *vals = PyMem_Malloc(sizeof(int64_t) * (size_t)(S->width + 1));
    int64_t *oldoff = PyMem_Malloc(sizeof(int64_t) * (size_t)(S->width + 1));
    uint8_t *oldbits = PyMem_Malloc((size_t)S->width + 1);
    uint64_t *oldw = PyMem_Calloc((size_t)oldwords + 1, sizeof(uint64_t));
    if (!vals || !oldoff || !oldbits || !oldw) goto nomem;
    memcpy(oldoff, S->off, sizeof(int64_t) * (size_t)S->width);
    memcpy(oldbits, S->bits, (size_t)S->width);
    S->bits[i] = 64;
    if (layout_keys(S) < 0) goto fail;
    unsigned char *keys = PyMem_Malloc(key_space(S, S->cap));
    if (!keys) goto nomem;
    for (Py_ssize_t idx = 0; idx < n; idx++) {
        memset(oldw, 0, sizeof(uint64_t) * (size_t)(oldwords + 1));
        if (oldlen) memcpy(oldw, S->keys + idx * oldlen, (size_t)oldlen);
        /* read with the old offsets and widths */
        int64_t *newoff = S->off;
        uint8_t *newbits = S->bits;
        S->off = oldoff;
        S->bits = oldbits;
        for (Py_ssize_t j = 0; j < S->width; j++) vals[j] = get_field(S, oldw, j);
        S->off = newoff;
        S->bits = newbits;
        memset(S->scratch, 0, sizeof(uint64_t) * (size_t)(S->nwords + 1));
        for (Py_ssize_t j = 0; j < S->width; j++) {
            uint64_t u = 0;
            fits(S, j, vals[j], &u); /* the old value fits its old or a wider width */
            put_field(S, S->scratch, j, u);
        }
        if (S->keylen) memcpy(keys + idx * S->keylen, S->scratch, (size_t)S->keylen);
    }
    PyMem_Free(S->keys);
    S->keys = keys;
    S->widened++;
    PyMem_Free(vals);
    PyMem_Free(oldoff);
    PyMem_Free(oldbits);
    PyMem_Free(oldw);
    return rebuild_table(S, S->tsize);
nomem:
    PyErr_NoMemory();
fail:
    PyMem_Free(vals);
    PyMem_Free(oldoff);
    PyMem_Free(oldbits);
    PyMem_Free(oldw);
    return -1;
}

/* The value of a small exact int without a call: state values are nearly all small. */
static inline int small_value(PyObject *o, long long *v) {
#if PY_VERSION_HEX >= 0x030C0000
    if (PyLong_CheckExact(o) && PyUnstable_Long_IsCompact((PyLongObject *)o)) {
        *v = (long long)PyUnstable_Long_CompactValue((PyLongObject *)o);
        return 1;
    }
#else
    if (PyLong_CheckExact(o)) {
        Py_ssize_t size = Py_SIZE(o);
        if (size >= -1 && size <= 1) {
            *v = (long long)size * (long long)((PyLongObject *)o)->ob_digit[0];
            return 1;
        }
    }
#endif
    return 0;
}

/* Pack tuple t into S->scratch; its hash in *h. Widens positions as needed. */
static int pack(Store *S, PyObject *t, uint64_t *h) {
    if (!PyTuple_Check(t) || PyTuple_GET_SIZE(t) != S->width) {
        PyErr_SetString(PyExc_ValueError, "a state of the wrong shape for this store");
        return -1;
    }
again:
    memset(S->scratch, 0, sizeof(uint64_t) * (size_t)(S->nwords + 1));
    for (Py_ssize_t i = 0; i < S->width; i++) {
        PyObject *o = PyTuple_GET_ITEM(t, i);
        long long v;
        if (!small_value(o, &v)) {
            int overflow = 0;
            v = PyLong_AsLongLongAndOverflow(o, &overflow);
            if (v == -1 && PyErr_Occurred()) return -1;
            if (overflow) {
                PyErr_SetString(PyExc_OverflowError, "a state value does not fit in 64 bits");
                return -1;
            }
        }
        uint64_t u;
        if (!fits(S, i, (int64_t)v, &u)) {
            if (widen(S, i) < 0) return -1;
            goto again;
        }
        put_field(S, S->scratch, i, u);
    }
    *h = hash_key(S->scratch, S->nwords);
    return 0;
}

/* Room for one more state: 0, or -1 with an error set. */
static int reserve_one(Store *S) {
    if ((size_t)S->n >= MAX_INDEX) {
        PyErr_SetString(PyExc_MemoryError, "the state store is full (2^31 states)");
        return -1;
    }
    if ((size_t)(S->n + 1) * 10 > S->tsize * 7) {
        if (grow_table(S) < 0) return -1;
    }
    if (S->n == S->cap) {
        Py_ssize_t cap = S->cap ? S->cap * 2 : 1024;
        unsigned char *k = PyMem_Realloc(S->keys, key_space(S, cap));
        if (!k) {
            PyErr_NoMemory();
            return -1;
        }
        S->keys = k;
        int32_t *p = PyMem_Realloc(S->parent, (size_t)cap * sizeof(int32_t));
        if (!p) {
            PyErr_NoMemory();
            return -1;
        }
        S->parent = p;
        S->cap = cap;
    }
    return 0;
}

/* Store the key in scratch (hash h) as a new state; its index. */
static Py_ssize_t insert(Store *S, uint64_t h, Py_ssize_t par) {
    if (reserve_one(S) < 0) return -1;
    size_t slot;
    Py_ssize_t found = find(S, h, &slot);
    if (found >= 0) return found; /* not reached: callers look first */
    Py_ssize_t idx = S->n;
    if (S->keylen) memcpy(S->keys + idx * S->keylen, S->scratch, (size_t)S->keylen);
    S->parent[idx] = (int32_t)par;
    S->table[slot] = ((h >> 32) << 32) | (uint64_t)(idx + 1);
    S->n++;
    return idx;
}

static PyObject *unpack(Store *S, Py_ssize_t idx) {
    uint64_t *w = S->scratch;
    load_key(S, idx, w);
    PyObject *t = PyTuple_New(S->width);
    if (!t) return NULL;
    for (Py_ssize_t i = 0; i < S->width; i++) {
        PyObject *v = PyLong_FromLongLong(get_field(S, w, i));
        if (!v) {
            Py_DECREF(t);
            return NULL;
        }
        PyTuple_SET_ITEM(t, i, v);
    }
    return t;
}

/* The index of t (after canonicalising when it is not stored as it is), inserting it as new.
 * *fresh is the stored tuple when new (a new reference), else NULL. */
static Py_ssize_t visit(Store *S, PyObject *t, Py_ssize_t par, PyObject *canon, PyObject **fresh) {
    uint64_t h;
    size_t slot;
    *fresh = NULL;
    if (pack(S, t, &h) < 0) return -1;
    Py_ssize_t idx = find(S, h, &slot);
    if (idx >= 0) return idx;
    Py_INCREF(t);
    if (canon != Py_None) {
        PyObject *c = PyObject_CallOneArg(canon, t);
        Py_DECREF(t);
        if (!c) return -1;
        t = c;
        if (pack(S, t, &h) < 0) {
            Py_DECREF(t);
            return -1;
        }
        idx = find(S, h, &slot);
        if (idx >= 0) {
            Py_DECREF(t);
            return idx;
        }
    }
    idx = insert(S, h, par);
    if (idx < 0) {
        Py_DECREF(t);
        return -1;
    }
    *fresh = t;
    return idx;
}

/* ---- methods --------------------------------------------------------------------------------- */

static int check_parent(Store *S, Py_ssize_t par) {
    if (par < -1 || par >= S->n) {
        PyErr_SetString(PyExc_IndexError, "parent index out of range");
        return -1;
    }
    return 0;
}

static PyObject *store_extend(Store *S, PyObject *const *args, Py_ssize_t nargs) {
    if (nargs != 3 || !PyList_Check(args[0])) {
        PyErr_SetString(PyExc_TypeError, "extend(states: list, parent: int, canon)");
        return NULL;
    }
    Py_ssize_t par = PyLong_AsSsize_t(args[1]);
    if (par == -1 && PyErr_Occurred()) return NULL;
    if (check_parent(S, par) < 0) return NULL;
    PyObject *succ = args[0], *canon = args[2];
    PyObject *out = PyList_New(0);
    if (!out) return NULL;
    for (Py_ssize_t k = 0; k < PyList_GET_SIZE(succ); k++) {
        PyObject *fresh;
        if (visit(S, PyList_GET_ITEM(succ, k), par, canon, &fresh) < 0) {
            Py_DECREF(out);
            return NULL;
        }
        if (fresh) {
            int bad = PyList_Append(out, fresh);
            Py_DECREF(fresh);
            if (bad) {
                Py_DECREF(out);
                return NULL;
            }
        }
    }
    return out;
}

static PyObject *store_index_all(Store *S, PyObject *const *args, Py_ssize_t nargs) {
    if (nargs != 3 || !PyList_Check(args[0])) {
        PyErr_SetString(PyExc_TypeError, "index_all(states: list, parent: int, canon)");
        return NULL;
    }
    Py_ssize_t par = PyLong_AsSsize_t(args[1]);
    if (par == -1 && PyErr_Occurred()) return NULL;
    if (check_parent(S, par) < 0) return NULL;
    PyObject *succ = args[0], *canon = args[2];
    Py_ssize_t m = PyList_GET_SIZE(succ);
    PyObject *out = PyList_New(m);
    if (!out) return NULL;
    for (Py_ssize_t k = 0; k < m; k++) {
        PyObject *fresh;
        Py_ssize_t idx = visit(S, PyList_GET_ITEM(succ, k), par, canon, &fresh);
        Py_XDECREF(fresh);
        PyObject *v = idx < 0 ? NULL : PyLong_FromSsize_t(idx);
        if (!v) {
            Py_DECREF(out);
            return NULL;
        }
        PyList_SET_ITEM(out, k, v);
    }
    return out;
}

/* expand(start, stop, succ, canon, check, on_broken, step_error, max_states, flags)
 * -> (next, transitions, failed): the search's inner loop, for states start..stop-1 in order.
 * Each state's successors (succ(state)) are stored as `extend` stores them, and each new one
 * is checked with check(t) (None: nothing to check); a false answer, or step_error raised,
 * calls on_broken(t, index), which answers the check to go on with. Stops early after a
 * state that brings the store to max_states (-1: no limit) or, with stop_when_clear, once the
 * check is None. failed = 1: succ raised step_error for state `next`, which is not expanded
 * (the caller takes the slow path for it). Any other exception propagates. `flags` is
 * stop_when_clear (1) | stop_when_dead (2): with the latter, a state that has no successor at
 * all ends the call after it, with failed = 2 (it is state next - 1: a timelock in a timed
 * model, explore/bfs.py). */
static PyObject *store_expand(Store *S, PyObject *const *args, Py_ssize_t nargs) {
    if (nargs != 9) {
        PyErr_SetString(PyExc_TypeError, "expand() takes 9 arguments");
        return NULL;
    }
    Py_ssize_t i = PyLong_AsSsize_t(args[0]);
    if (i == -1 && PyErr_Occurred()) return NULL;
    Py_ssize_t stop = PyLong_AsSsize_t(args[1]);
    if (stop == -1 && PyErr_Occurred()) return NULL;
    PyObject *succ = args[2], *canon = args[3], *check = args[4], *on_broken = args[5];
    PyObject *step_error = args[6];
    Py_ssize_t max_states = PyLong_AsSsize_t(args[7]);
    if (max_states == -1 && PyErr_Occurred()) return NULL;
    long flags = PyLong_AsLong(args[8]);
    if (flags == -1 && PyErr_Occurred()) return NULL;
    int stop_when_clear = (flags & 1) != 0, stop_when_dead = (flags & 2) != 0;
    if (i < 0) {
        PyErr_SetString(PyExc_IndexError, "state index out of range");
        return NULL;
    }
    long long transitions = 0;
    int failed = 0;
    Py_INCREF(check);
    while (i < stop && i < S->n) {
        PyObject *s = unpack(S, i);
        if (!s) goto error;
        PyObject *nexts = PyObject_CallOneArg(succ, s);
        Py_DECREF(s);
        if (!nexts) {
            if (PyErr_ExceptionMatches(step_error)) {
                PyErr_Clear();
                failed = 1;
                break;
            }
            goto error;
        }
        if (!PyList_Check(nexts)) {
            Py_DECREF(nexts);
            PyErr_SetString(PyExc_TypeError, "successors must be a list");
            goto error;
        }
        Py_ssize_t m = PyList_GET_SIZE(nexts);
        transitions += m;
        if (m == 0 && stop_when_dead) { /* no step at all from state i: the caller's to say */
            Py_DECREF(nexts);
            i++;
            failed = 2;
            break;
        }
        for (Py_ssize_t k = 0; k < m; k++) {
            PyObject *fresh;
            Py_ssize_t idx = visit(S, PyList_GET_ITEM(nexts, k), i, canon, &fresh);
            if (idx < 0) {
                Py_DECREF(nexts);
                goto error;
            }
            if (!fresh) continue;
            if (check != Py_None) {
                int ok;
                PyObject *r = PyObject_CallOneArg(check, fresh);
                if (!r) {
                    if (!PyErr_ExceptionMatches(step_error)) {
                        Py_DECREF(fresh);
                        Py_DECREF(nexts);
                        goto error;
                    }
                    PyErr_Clear();
                    ok = 0;
                } else {
                    ok = PyObject_IsTrue(r);
                    Py_DECREF(r);
                    if (ok < 0) {
                        Py_DECREF(fresh);
                        Py_DECREF(nexts);
                        goto error;
                    }
                }
                if (!ok) {
                    PyObject *next_check = PyObject_CallFunction(on_broken, "On", fresh, idx);
                    if (!next_check) {
                        Py_DECREF(fresh);
                        Py_DECREF(nexts);
                        goto error;
                    }
                    Py_DECREF(check);
                    check = next_check;
                }
            }
            Py_DECREF(fresh);
        }
        Py_DECREF(nexts);
        i++;
        if (max_states >= 0 && S->n >= max_states && i < S->n) break;
        if (stop_when_clear && check == Py_None) break;
    }
    Py_DECREF(check);
    return Py_BuildValue("nLi", i, transitions, failed);
error:
    Py_DECREF(check);
    return NULL;
}

static PyObject *store_add(Store *S, PyObject *const *args, Py_ssize_t nargs) {
    if (nargs != 2) {
        PyErr_SetString(PyExc_TypeError, "add(state, parent)");
        return NULL;
    }
    Py_ssize_t par = PyLong_AsSsize_t(args[1]);
    if (par == -1 && PyErr_Occurred()) return NULL;
    if (check_parent(S, par) < 0) return NULL;
    uint64_t h;
    size_t slot;
    if (pack(S, args[0], &h) < 0) return NULL;
    if (find(S, h, &slot) >= 0) return PyLong_FromLong(-1);
    Py_ssize_t idx = insert(S, h, par);
    return idx < 0 ? NULL : PyLong_FromSsize_t(idx);
}

static PyObject *store_index(Store *S, PyObject *t) {
    uint64_t h;
    size_t slot;
    if (pack(S, t, &h) < 0) return NULL;
    return PyLong_FromSsize_t(find(S, h, &slot));
}

static PyObject *store_parent(Store *S, PyObject *arg) {
    Py_ssize_t i = PyLong_AsSsize_t(arg);
    if (i == -1 && PyErr_Occurred()) return NULL;
    if (i < 0 || i >= S->n) {
        PyErr_SetString(PyExc_IndexError, "state index out of range");
        return NULL;
    }
    return PyLong_FromLong(S->parent[i]);
}

static PyObject *store_parents(Store *S, PyObject *Py_UNUSED(arg)) {
    return PyBytes_FromStringAndSize((const char *)S->parent, S->n * (Py_ssize_t)sizeof(int32_t));
}

static PyObject *store_nbytes(Store *S, PyObject *Py_UNUSED(arg)) {
    size_t b = key_space(S, S->cap) + (size_t)S->cap * sizeof(int32_t) +
               S->tsize * sizeof(uint64_t);
    return PyLong_FromSize_t(b);
}

static PyObject *store_key_bytes(Store *S, PyObject *Py_UNUSED(arg)) {
    return PyLong_FromSsize_t(S->keylen);
}

static PyObject *store_widened(Store *S, PyObject *Py_UNUSED(arg)) {
    return PyLong_FromSsize_t(S->widened);
}

static Py_ssize_t store_len(Store *S) { return S->n; }

static PyObject *store_item(Store *S, Py_ssize_t i) {
    if (i < 0 || i >= S->n) {
        PyErr_SetString(PyExc_IndexError, "state index out of range");
        return NULL;
    }
    return unpack(S, i);
}

static PyObject *store_iter(PyObject *self) { return PySeqIter_New(self); }

static void store_dealloc(Store *S) {
    PyMem_Free(S->lo);
    PyMem_Free(S->bits);
    PyMem_Free(S->off);
    PyMem_Free(S->scratch);
    PyMem_Free(S->keys);
    PyMem_Free(S->parent);
    PyMem_Free(S->table);
    PyMem_Free(S->lkey);
    PyMem_Free(S->lmask);
    Py_TYPE(S)->tp_free((PyObject *)S);
}

/* the inner loop over a model's generated C: store_gen.c */
#include "store_gen.c"
/* the same on several threads: store_par.c */
#include "store_par.c"
/* one worker's share of the distributed search: store_dist.c */
#include "store_dist.c"

static PyMethodDef store_methods[] = {
    {"extend", (PyCFunction)(void (*)(void))store_extend, METH_FASTCALL,
     "extend(states, parent, canon) -> the states that were new, stored in order"},
    {"index_all", (PyCFunction)(void (*)(void))store_index_all, METH_FASTCALL,
     "index_all(states, parent, canon) -> the index of each state, storing new ones"},
    {"expand", (PyCFunction)(void (*)(void))store_expand, METH_FASTCALL,
     "expand(start, stop, succ, canon, check, on_broken, step_error, max_states, "
     "flags) -> (next, transitions, failed)"},
    {"expand_gen", (PyCFunction)(void (*)(void))store_expand_gen, METH_FASTCALL,
     "expand_gen(model, start, stop, fallbacks, succ, check, ids, on_broken, step_error, "
     "max_states, flags) -> (next, transitions, failed)"},
    {"expand_gen_par", (PyCFunction)(void (*)(void))store_expand_gen_par, METH_FASTCALL,
     "expand_gen_par(model, start, stop, fallbacks, succ, check, ids, on_broken, step_error, "
     "max_states, flags, canon, threads) -> (next, transitions, failed)"},
    {"expand_gen_par_tagged", (PyCFunction)(void (*)(void))store_expand_gen_par_tagged,
     METH_FASTCALL,
     "expand_gen_par_tagged(model, start, stop, fallbacks, tagged, check, ids, on_broken, "
     "step_error, max_states, edge_base, canon, threads) -> as expand_gen_tagged"},
    {"expand_gen_tagged", (PyCFunction)(void (*)(void))store_expand_gen_tagged, METH_FASTCALL,
     "expand_gen_tagged(model, start, stop, fallbacks, tagged, check, ids, on_broken, "
     "step_error, max_states, edge_base) -> (next, transitions, failed, edges...)"},
    {"predicates", (PyCFunction)(void (*)(void))store_predicates, METH_FASTCALL,
     "predicates(model, ks, n) -> per state formula k, bytes for states [0, n): 1 holds, "
     "0 not, 2 ask Python"},
    {"route", (PyCFunction)(void (*)(void))store_route, METH_FASTCALL,
     "route(model, lo, hi, gids, where, pending, fallbacks, succ, slow, step_error, canon, "
     "parts, self, wire) "
     "-> (batches, counts, dead, transitions)"},
    {"merge", (PyCFunction)(void (*)(void))store_merge, METH_FASTCALL,
     "merge(model, batches, canon, pending, invs, step_error, initial, wire) -> (keys, where, "
     "violations, loose)"},
    {"wire_hash", (PyCFunction)store_wire_hash, METH_O,
     "wire_hash(state) -> the hash that routes it, this store being the wire layout"},
    {"encode_batch", (PyCFunction)(void (*)(void))store_encode_batch, METH_FASTCALL,
     "encode_batch(states, keys) -> a batch in this wire layout"},
    {"decode_batch", (PyCFunction)store_decode_batch, METH_O,
     "decode_batch(batch) -> (states, keys)"},
    {"add", (PyCFunction)(void (*)(void))store_add, METH_FASTCALL,
     "add(state, parent) -> its new index, or -1 when it is stored already"},
    {"index", (PyCFunction)store_index, METH_O, "index(state) -> its index, or -1"},
    {"parent", (PyCFunction)store_parent, METH_O, "parent(i) -> the parent index of state i"},
    {"parents", (PyCFunction)store_parents, METH_NOARGS, "every parent index, as int32 bytes"},
    {"nbytes", (PyCFunction)store_nbytes, METH_NOARGS, "bytes held by the store"},
    {"key_bytes", (PyCFunction)store_key_bytes, METH_NOARGS, "bytes per packed state"},
    {"widened", (PyCFunction)store_widened, METH_NOARGS, "positions widened to 64 bits"},
    {NULL, NULL, 0, NULL},
};

static PySequenceMethods store_as_sequence = {
    .sq_length = (lenfunc)store_len,
    .sq_item = (ssizeargfunc)store_item,
};

static PyTypeObject StoreType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "kcheck._store.Store",
    .tp_basicsize = sizeof(Store),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_dealloc = (destructor)store_dealloc,
    .tp_as_sequence = &store_as_sequence,
    .tp_iter = store_iter,
    .tp_methods = store_methods,
    .tp_doc = "packed states in insertion order, with parents and a hash index",
};

static PyObject *make(PyObject *Py_UNUSED(module), PyObject *arg) {
    PyObject *seq = PySequence_Fast(arg, "plan must be a sequence of (lo, bits) pairs");
    if (!seq) return NULL;
    Py_ssize_t w = PySequence_Fast_GET_SIZE(seq);
    Store *S = PyObject_New(Store, &StoreType);
    if (!S) {
        Py_DECREF(seq);
        return NULL;
    }
    S->width = w;
    S->lo = PyMem_Calloc((size_t)w + 1, sizeof(int64_t));
    S->bits = PyMem_Calloc((size_t)w + 1, 1);
    S->off = PyMem_Calloc((size_t)w + 1, sizeof(int64_t));
    S->scratch = NULL;
    S->keys = NULL;
    S->parent = NULL;
    S->table = NULL;
    S->n = S->cap = 0;
    S->tsize = 0;
    S->widened = 0;
    S->nwords = S->keylen = 0;
    S->lkey = NULL;
    S->lmask = NULL;
    S->lbase = S->lcap = S->lloose = 0;
    if (!S->lo || !S->bits || !S->off) {
        Py_DECREF(seq);
        Py_DECREF(S);
        return PyErr_NoMemory();
    }
    for (Py_ssize_t i = 0; i < w; i++) {
        long long lo;
        long bits;
        if (!PyArg_ParseTuple(PySequence_Fast_GET_ITEM(seq, i), "Ll", &lo, &bits)) {
            Py_DECREF(seq);
            Py_DECREF(S);
            return NULL;
        }
        if (bits < 0 || bits > 64) {
            Py_DECREF(seq);
            Py_DECREF(S);
            PyErr_SetString(PyExc_ValueError, "a position's width must be 0..64 bits");
            return NULL;
        }
        S->lo[i] = lo;
        S->bits[i] = (uint8_t)bits;
    }
    Py_DECREF(seq);
    if (layout_keys(S) < 0 || rebuild_table(S, 1024) < 0) {
        Py_DECREF(S);
        return NULL;
    }
    return (PyObject *)S;
}

static PyMethodDef methods[] = {
    {"make", make, METH_O, "make([(lo, bits), ...]) -> an empty store for states of that shape"},
    {"merge_keys", (PyCFunction)(void (*)(void))dist_merge_keys, METH_FASTCALL,
     "merge_keys(batches, start) -> (keys, ids): the distributed search's level order"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_store", NULL, -1, methods, NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__store(void) {
    if (PyType_Ready(&StoreType) < 0) return NULL;
    return PyModule_Create(&module);
}
