// Package circuit holds population circuit models, built from [pre, post]
// tables into the same backend.Program as every other network. Today it
// holds the V1 layer-5 model of the original L5Neuron_RateModel (Jieran-S/L5Neuron_RateModel) (populations CS,
// CC, PV, SST):
//
//   - L5Params / L5Defaults: the parameters the original runs with
//     (configs/debug_config.py, each value with its source line), Steps
//     and ThresholdWindow as the original derives them;
//   - L5Params.Connectivity / Network: the network run_simulation draws
//     (connect.PopulationConnectivity: fixed in-degrees, ±|N(w, σ)|
//     weights, randomized block means, W / max Re λ), the initial rates and
//     the unit-disc positions, from host streams derived in l5.go
//     (StreamL5…; they belong in sim/spec/streams.go once circuit specs
//     exist);
//   - L5Run: a float64 host oracle of the original's SimpleNetwork.run,
//     written operation by operation as the section below specifies,
//     checked against the original's runs (testdata/make_l5_circuit.py:
//     every rule, Euler and RK4, the neuron masks and phase lists; rates and
//     weights within 3.5e-13 relative over 400 steps, and the full-size
//     default run within 3e-14);
//   - L5Params.Grating: the network's stimulus (sim/stimulus.Grating,
//     counterphase with L5Compat as the original);
//   - Program: a circuit file's network as one backend.Program in the rate
//     form (Program.Form, Rate, UnitActivations), the directions as trials
//     with per-trial L5 weights (backend.Plasticity.L5), the stimulus through
//     identity input weights — what sim.SimulateCircuit (`ratesim run` of a
//     circuit) runs on any backend; the backends give L5Run's bits;
//   - ProgramBatch: circuits that differ only in BatchFields (amplitudes,
//     τ, τ_learn, τ_θ: L5's tuning space) as the instances of one program
//     (per-instance inputs, 1/τ and backend.L5Plasticity.PerInstance), what
//     a fit's generation runs (sim.SimulateCircuits).
//
// The selectivity analysis (sim/analysis: BinMeans, Windows, Selectivity,
// SelectivityTable, WeightSummary, Loss) is in its room.
//
// # The L5 model's dynamics: what the contract must compute
//
// This is the specification for the rate-form dynamics, RK4, the
// activations and L5's plasticity as backend features (reference loop
// first, then a backendtest entry point, then cpu and the CUDA kernels;
// ARCHITECTURE.md "How a numeric feature enters"). L5Run implements it; a
// float64 reference written in the same order gives L5Run's bits (W·r below
// is the contract's ascending sum from +0, rule 3), so L5Run is the
// cross-check between the reference loop and the original.
//
// Orientation. W here is (post i, pre j); the backend's Drive is (pre rows)
// × (post cols), so W_ij = Drive[j][i] and (W·r)_i = Σ_j Drive[j][i]·r_j,
// j ascending. L5's input enters through W_project = I (identity): with
// input weights the identity in Drive's input rows, the contract's single
// ascending sum over recurrent then input rows adds exactly I_i after the
// recurrent part (every other input product is ±0), which is L5's
// fl(fl(W·r) + I).
//
// Step index. The input of step k (k = 0 … T−1) is I(k); it moves r_k to
// r_{k+1}; the recording is r_1 … r_T and the weights after each step (the
// original drops r_0). Directions are separate runs from the same W0 and
// r_0 (learning restarts per direction): trials with per-trial plastic
// weights (backend.Plasticity.PerTrial), one direction each.
//
// Rate form, per unit i, with host constants c_i = fl(1/τ_i) (per
// population), dt, and in the run's precision:
//
//	u_i = Σ_j↑ W_ij·r_j + I_i                 (rule 3's order, from +0)
//	F_i = c_i·((−r_i) + f_i(u_i))             (two roundings: sum, product)
//	Euler: r'_i = r_i + dt·F_i                 (no clip)
//
// L5 multiplies by 1/τ and then by dt; the v-form's α = dt/τ would round
// differently, so the rate form takes (dt, 1/τ) and not α.
//
// Classical RK4 (runge_kutta_explicit), I and W held fixed across stages:
//
//	k1 = F(r)
//	k2 = F(r + (0.5·k1)·dt)
//	k3 = F(r + (0.5·k2)·dt)
//	k4 = F(r + k3·dt)
//	r' = r + dt·((((s6·k1 + s3·k2) + s3·k3) + s6·k4))     s6 = fl(1/6), s3 = fl(1/3)
//	r' = max(r', 0)  when clipping (L5 always clips; NaN passes through)
//
// Each product and sum rounds on its own, left to right as written; no
// FMA. In float32 the constants are fl32(1/6), fl32(1/3).
//
// Activations, per unit (per-population parameters laid out per unit, or
// population ranges; both backends must agree on whichever is chosen):
//
//   - supralinear: f(x) = min(max(x, lo), hi), NaN passes (numpy's clip).
//     L5: lo = 0.01, hi = 500 — a ReLU whose floor is 0.01, so rates relax
//     to ≥ 0.01.
//   - power law: f(x) = k·[x]₊ⁿ, [x]₊ = max(x, 0). For integer n the power
//     is exact repeated multiplication, left to right (((x·x)·x)…, n−1
//     rounded products; n = 0 gives 1), then k·(…); otherwise
//     dmath.Pow([x]₊, n) (numpy's power matches x·x only for n = 2).
//   - L5's γ ≠ 1 mode (units 0–7 get max(x, 0), the rest max(x, 0)^γ, no
//     ceiling; the 8 is hard-wired, so they are CS units) is expressible as
//     per-unit activations: power law k = 1, n = 1 on units 0–7 and n = γ
//     on the rest.
//
// Plasticity (integration_methods.py), per step k ≥ Warmup whose phase
// Phases[k mod len] is not "Rest" (the absolute step index; Rest skips the
// rule and leaves W), with r = r_{k+1}, I = I(k) and the window A = the
// last L rate vectors r_{k+2−m} … r_{k+1} (m = min(L, k+2): the whole
// history including r_0 while shorter; L = 0 also means the whole
// history), L = int(−(τ_θ/dt)·ln 0.1) computed on the host (dmath.Log; 642
// for the defaults). Per trial the backend keeps a ring of L rate vectors.
//
//	BCM:        mean_i = (Σ_t↑ A_ti)/m; var_i = (Σ_t↑ (A_ti − mean_i)²)/m
//	            θ_i = var_i + mean_i·mean_i
//	            G_ij = fl(fl(r_i·(r_i − θ_i))·I_j) / θ_i         (no column flip)
//	Slide_BCM:  y_ti = e_t·(A_ti·A_ti), e_t = exp(fl(fl((t−m+1)·dt)·(1/τ_θ))), t = 0 … m−1
//	            S_i  = simps(y_·i, dx = dt), scipy ≤ 1.10 even='avg':
//	              B(s, e) = (Σ_{t=s, s+2, … < e} ((y_t + 4·y_{t+1}) + y_{t+2})) · fl(dt/3)   (sum from +0)
//	              m odd:  S = B(0, m−2)
//	              m even: S = (B(0, m−3) + B(1, m−2))/2 + (h·(y_{m−1} + y_{m−2}) + h·(y_1 + y_0))/2,  h = fl(0.5·dt)
//	            θ_i = fl(1/τ_θ)·S_i;  G_ij as BCM, then columns j ≥ n_E negated
//	Oja (L5's): v_j = (r_j + I_j) − Σ_l↑ W_jl·r_l  with W the weights being
//	            integrated (RK4: the stage's); G_ij = r_i·v_j, columns j ≥ n_E
//	            negated. Not Oja's rule: name it "l5_oja".
//	Cov:        δ_i = r_i − mean_i (mean as BCM's); G_ij = δ_i·δ_j, columns
//	            j ≥ n_E negated
//	None:       G = 0 (the weights are still integrated: RK4's clip applies)
//
// then the masks, in this order: neurons — excit_only zeroes the columns
// and rows of PV and SST; inhibit_only zeroes the columns of CS and CC and
// L5's rows 0 … n_I−1 (it meant the last n_I: offer the right rows, and
// L5's as a compatibility option) — and the phase: CS keeps only CS rows,
// CC only CC rows; all, PV and SST mask nothing. The update is
//
//	Euler: W'_ij = W_ij + dt·(fl(η·G_ij)·1),   η = fl(1/τ_l) on the host
//	RK4:   the same stages as above on W with F(W) = η·G(W); only Oja's G
//	       depends on W, so for the others k1 = k2 = k3 = k4 and the step is
//	       Euler up to rounding — then clipped at 0, which deletes every
//	       inhibitory weight at the first learning step (L5's behaviour; a
//	       compatibility option, never a default).
//
// L5 updates W densely: every entry changes, absent synapses and autapses
// included, and signs may flip. The contract should offer a structural
// update (G multiplied by W0's support) and sign preservation (the
// presynaptic population's sign kept by clipping) as options, defaulting
// to structural with signs kept, with an L5-compatible dense setting.
//
// Cost: the sliding threshold reweights the whole window every step (the
// kernel weights depend on m and the Simpson grouping on its parity), so a
// faithful reference recomputes it from the ring of L vectors, O(L·n) per
// step; with τ_θ ≥ 1 (L5's tuning space) L ≥ 230 000 exceeds any run, and
// the window is the whole history. A recursive exponential filter is
// faster but not these numbers: offer it as a separate, named rule.
//
// Fixtures. testdata/net.npz (a network of N = [3, 9, 3, 3] drawn by the
// original, its r_0 and its 90° input) and testdata/run_<case>.npz (the
// original's rates and weights for each rule × integrator, excit_only with
// CC_CS_Alter, inhibit_only with All_Alter, Oja RK4 excit_only) check a
// reference loop to 1e-12 relative; the analysis fixtures in
// sim/analysis/testdata check the selectivity of a whole run_simulation.
// testdata/full.npz is the full-size default run (400 units, 2 500 Euler
// steps, sliding BCM from step 500 with its 642-sample window, one
// direction) from the original's own W0, r_0 and input (S and cos(ω·k),
// whose product is its input bit for bit): L5Run is within 3e-14 of its
// rates and 3e-15 of its final weights.
package circuit
