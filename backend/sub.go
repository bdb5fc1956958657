package backend

// Sub returns the sub-program of instances [k0,k1) and trials [b0,b1) of p:
// the same shape but K = k1−k0 and B = b1−b0, FirstInstance and FirstTrial
// moved so that its random numbers and error positions are those of the
// whole, its per-instance arrays sliced (sharing p's memory) and its
// initial state gathered. Running the sub-programs of a partition gives
// exactly the bits of running p (the conformance suite checks this); the
// partitioner (Partition, Part, ShardedRun in partition.go) cuts programs
// with Sub and moves inputs and results between the parts and the whole.
//
// Plastic programs with weights shared by the trials of an instance sum ΔW
// over all of them, so their trials cannot be split: Sub panics when asked
// to, as it does for ranges outside p (CheckSpan says so as an error).
func (p *Program[T]) Sub(k0, k1, b0, b1 int) *Program[T] {
	if err := p.CheckSpan(Span{k0, k1, b0, b1}); err != nil {
		panic("backend: Program.Sub: " + err.Error())
	}
	q := *p
	N, O, B := p.Units, p.Outputs, p.Trials
	rows := p.DriveRows()
	q.Instances, q.Trials = k1-k0, b1-b0
	q.FirstInstance, q.FirstTrial = p.FirstInstance+k0, p.FirstTrial+b0
	q.Drive = p.Drive[k0*rows*N : k1*rows*N]
	if p.Readout != nil {
		q.Readout = p.Readout[k0*(N+1)*O : k1*(N+1)*O]
	}
	q.Decay, q.Alpha = p.Decay[k0*N:k1*N], p.Alpha[k0*N:k1*N]
	q.PreNoise, q.PostNoise = p.PreNoise[k0*N:k1*N], p.PostNoise[k0*N:k1*N]
	if p.Init != nil {
		q.Init = make([]T, 0, (k1-k0)*(b1-b0)*N)
		for k := k0; k < k1; k++ {
			q.Init = append(q.Init, p.Init[(k*B+b0)*N:(k*B+b1)*N]...)
		}
	}
	if p.Plasticity != nil {
		q.Plasticity = p.subPlasticity(k0, k1, b0, b1)
	}
	// A run's delay ring buffer is per trial and starts from its own
	// r_0, so the parts' runs hold exactly the whole's buffers.
	q.Delays = p.Delays.sub(k0, k1, N)
	q.Sparse = p.Sparse.sub(k0, k1, N)
	if p.Rate != nil {
		q.Rate = p.SubRate(k0, k1)
	}
	return &q
}

// subPlasticity slices the per-instance arrays of p's plasticity to
// instances [k0,k1), and gathers the L5 low-rank factors of trials
// [b0,b1) of those.
func (p *Program[T]) subPlasticity(k0, k1, b0, b1 int) *Plasticity[T] {
	q := *p.Plasticity
	cut := func(a []T, per int) []T {
		if a == nil {
			return nil
		}
		return a[k0*per : k1*per]
	}
	conns := q.Connections()
	for l, c := range conns {
		if c == nil {
			continue
		}
		a, b := p.Shape.LayerDims(Layer(l))
		cc := *c
		cc.Scale, cc.Growth, cc.GrowWeight = cut(c.Scale, a*b), cut(c.Growth, a*b), cut(c.GrowWeight, a*b)
		if c.Sign != nil {
			cc.Sign = c.Sign[k0*a : k1*a]
		}
		cc.Rules = append([]Rule[T](nil), c.Rules...)
		for i := range cc.Rules {
			cc.Rules[i].Rate = cut(c.Rules[i].Rate, 1)
		}
		conns[l] = &cc
	}
	q.Recurrent, q.Input, q.Readout = conns[0], conns[1], conns[2]
	if q.L5 != nil && q.L5.PerInstance != nil {
		l5 := *q.L5
		l5.PerInstance = l5.PerInstance[k0:k1]
		q.L5 = &l5
	}
	if q.L5 != nil && q.L5.LowRank != nil {
		l5, lr := *q.L5, *q.L5.LowRank
		per := lr.Factors * p.Units
		lr.Spatial = make([]T, 0, (k1-k0)*(b1-b0)*per)
		for k := k0; k < k1; k++ {
			lr.Spatial = append(lr.Spatial, p.Plasticity.L5.LowRank.Spatial[(k*p.Trials+b0)*per:(k*p.Trials+b1)*per]...)
		}
		l5.LowRank = &lr
		q.L5 = &l5
	}
	return &q
}
