"""The C module around a model's translated code (cgen.py): its includes, the ABI shared with
store_gen.c (copied from that file, so the two never differ), Python's int semantics on int64,
and the module whose `model` is a capsule of the KgenModel.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from kcheck.explore.cgen import Translation

STORE_GEN = Path(__file__).with_name("store_gen.c")


def module_source(tr: Translation, width: int, ninv: int) -> tuple[str, str]:
    """(module name, full C source): the translation, the ABI shared with store_gen.c, and a
    module whose `model` is a capsule of the KgenModel."""
    abi = _abi()
    body = "\n".join(
        [
            "#define PY_SSIZE_T_CLEAN",
            "#include <Python.h>",
            "#include <stdint.h>",
            "#include <string.h>",
            abi,
            RUNTIME_C,
            tr.source,
        ]
    )
    name = "_kgen_" + hashlib.sha256(body.encode()).hexdigest()[:16]
    tail = f"""
static KgenModel kg_model = {{KGEN_ABI, {width}, {ninv}, kg_successors, kg_tagged, kg_inv,
                             {len(tr.predicates)}, kg_pred}};
static struct PyModuleDef kg_module = {{PyModuleDef_HEAD_INIT, "{name}", NULL, -1, NULL}};
PyMODINIT_FUNC PyInit_{name}(void) {{
    PyObject *m = PyModule_Create(&kg_module);
    if (!m) return NULL;
    PyObject *c = PyCapsule_New(&kg_model, "kcheck.kgen", NULL);
    if (!c || PyModule_AddObject(m, "model", c) < 0) {{
        Py_XDECREF(c);
        Py_DECREF(m);
        return NULL;
    }}
    return m;
}}
"""
    return name, body + tail


def _abi() -> str:
    """The types shared with store_gen.c, copied from it so that the two never differ."""
    text = STORE_GEN.read_text(encoding="utf-8")
    start = text.index("/* kgen-abi-begin */")
    end = text.index("/* kgen-abi-end */")
    return text[start:end]


# Python's int semantics on int64, every difference flagged in *bad (the state is then redone
# in Python, which raises or answers as it always does)
RUNTIME_C = r"""
static _Thread_local int64_t kg_sink; /* per thread: store_par.c runs the code on several */
static inline int64_t kg_get(const int64_t *a, int64_t i, int64_t n, int *bad) {
    if (i < 0) i += n;
    if (i < 0 || i >= n) { *bad = 1; return 0; }
    return a[i];
}
static inline int64_t *kg_ref(int64_t *a, int64_t i, int64_t n, int *bad) {
    if (i < 0) i += n;
    if (i < 0 || i >= n) { *bad = 1; return &kg_sink; }
    return &a[i];
}
static inline int64_t kg_add(int64_t a, int64_t b, int *bad) {
    int64_t r; if (__builtin_add_overflow(a, b, &r)) *bad = 1; return r;
}
static inline int64_t kg_sub(int64_t a, int64_t b, int *bad) {
    int64_t r; if (__builtin_sub_overflow(a, b, &r)) *bad = 1; return r;
}
static inline int64_t kg_mul(int64_t a, int64_t b, int *bad) {
    int64_t r; if (__builtin_mul_overflow(a, b, &r)) *bad = 1; return r;
}
static inline int64_t kg_floordiv(int64_t a, int64_t b, int *bad) {
    if (b == 0 || (a == INT64_MIN && b == -1)) { *bad = 1; return 0; }
    int64_t q = a / b;
    if ((a % b != 0) && ((a < 0) != (b < 0))) q--;
    return q;
}
static inline int64_t kg_mod(int64_t a, int64_t b, int *bad) {
    if (b == 0 || (a == INT64_MIN && b == -1)) { *bad = 1; return 0; }
    int64_t r = a % b;
    if (r != 0 && ((r < 0) != (b < 0))) r += b;
    return r;
}
static inline int64_t kg_lshift(int64_t a, int64_t b, int *bad) {
    if (b < 0 || b > 62) { if (a == 0 && b >= 0) return 0; *bad = 1; return 0; }
    int64_t r = (int64_t)((uint64_t)a << b);
    if ((r >> b) != a) *bad = 1;
    return r;
}
static inline int64_t kg_rshift(int64_t a, int64_t b, int *bad) {
    if (b < 0) { *bad = 1; return 0; }
    if (b > 63) return a < 0 ? -1 : 0;
    return a >> b;
}
"""
