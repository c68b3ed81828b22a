/*
 * Promela translation of models/replicaset.kdsl at its default size, for the Spin comparison in
 * benchmarks/RESULTS.md.  Reproduce with benchmarks/spin/run.sh.
 *
 *   const MAX_PODS = 5, param replicas = 3, fault pod_crash budget 2
 *
 * State layout mirrors kcheck's (ARCHITECTURE.md "State"): the crash budget, then one block per
 * Pod slot holding a presence flag and the phase.  A deleted slot is zeroed (present = 0,
 * phase = Pending), and `create` takes the lowest free slot, exactly as kcheck's generated
 * `_free_Pod` / `_del_Pod` helpers do, so without symmetry reduction both tools explore the same
 * graph of states.
 *
 * Every KDSL action instance (an action for one choice of its `for`/`choose` variable) is one
 * `d_step`: a single indivisible transition with no intermediate states, like one kcheck step.
 * The three KDSL components (controller, kubelet, fault) are three Promela processes that loop
 * forever, so their program counters are the same in every stored state and add nothing to the
 * state count.  The two invariants are asserted at the end of every step (the successor state)
 * and once for the initial state by the controller before it enters its loop.  A state where no
 * action is enabled is a valid end state (the `end:` labels): kcheck does not treat quiescence as
 * an error, and the model is quiescent once the replicas are Running and the budget is spent.
 */

#define N        5      /* MAX_PODS */
#define REPLICAS 3      /* param replicas */
#define BUDGET   2      /* fault pod_crash budget */

#define PENDING  0      /* enum Phase { Pending, Running, Failed }: ints in declaration order */
#define RUNNING  1
#define FAILED   2

byte budget = BUDGET;   /* budget.pod_crash */
bit  present[N];        /* slot in use */
byte phase[N];          /* Pod.phase, default Pending */

hidden byte i;          /* scratch for the free-slot search; not part of the state vector */

#define LIVE1(k) ((present[k] && phase[k] != FAILED) -> 1 : 0)
#define LIVE     (LIVE1(0) + LIVE1(1) + LIVE1(2) + LIVE1(3) + LIVE1(4))
#define COUNT    (present[0] + present[1] + present[2] + present[3] + present[4])

/* invariant never_too_many_live: live() <= replicas
   invariant bounded: count(Pod) <= replicas + 2 */
#define CHECK    assert(LIVE <= REPLICAS); assert(COUNT <= REPLICAS + 2)

#define DELETE(k) present[k] = 0; phase[k] = PENDING

/* controller replicaset, action scale_down: choose p in Pod where p.phase != Failed { delete p } */
#define SCALE_DOWN(k) \
    :: d_step { LIVE > REPLICAS && present[k] && phase[k] != FAILED -> DELETE(k); CHECK }

/* controller replicaset, action gc: for p in Pod where p.phase == Failed { delete p } */
#define GC(k) \
    :: d_step { present[k] && phase[k] == FAILED -> DELETE(k); CHECK }

/* process kubelet, action start: for p in Pod where p.phase == Pending { p.phase := Running } */
#define START(k) \
    :: d_step { present[k] && phase[k] == PENDING -> phase[k] = RUNNING; CHECK }

/* fault pod_crash budget 2, action crash: for p in Pod where p.phase == Running
   { p.phase := Failed }  (a fault step spends one unit of the budget) */
#define CRASH(k) \
    :: d_step { budget > 0 && present[k] && phase[k] == RUNNING -> \
                phase[k] = FAILED; budget--; CHECK }

active proctype replicaset()
{
    d_step { CHECK };   /* the initial state */
end:
    do
    /* action scale_up when live() < replicas { create Pod { phase: Pending } } */
    :: d_step {
           LIVE < REPLICAS ->
           i = 0;
           do
           :: i < N && present[i] -> i++
           :: else -> break
           od;
           assert(i < N);   /* kcheck's bound check: create Pod with all slots in use */
           present[i] = 1; phase[i] = PENDING;
           i = 0;
           CHECK
       }
    SCALE_DOWN(0) SCALE_DOWN(1) SCALE_DOWN(2) SCALE_DOWN(3) SCALE_DOWN(4)
    GC(0) GC(1) GC(2) GC(3) GC(4)
    od
}

active proctype kubelet()
{
end:
    do
    START(0) START(1) START(2) START(3) START(4)
    od
}

active proctype pod_crash()
{
end:
    do
    CRASH(0) CRASH(1) CRASH(2) CRASH(3) CRASH(4)
    od
}
