package connect

// Patched is ngc-learn's patched synapse structure (PatchedSynapse and
// HebbianPatchedSynapse, v3.2.0: _create_multi_patch_synapses): n =
// NSubModels dense blocks along the diagonal that overlap their neighbours,
// and a disconnected border. With Stride = (si, sj) (si for pre units, sj
// for post units), di = (n_pre − 2si)/n and dj = (n_post − 2sj)/n, block b
// covers pre units [b·di, (b+1)·di + 2si) and post units [b·dj, (b+1)·dj +
// 2sj); a later block overwrites the overlap (which matters only for the
// block index Owner reports, since every block draws from the same init);
// then the first and last si pre units and sj post units are disconnected.
// PConn in (0, 1) keeps each structural synapse (post i, pre j) when
// StreamSynapse at index i·n_pre + j is < PConn (ngc-learn's Bernoulli
// thinning); 0 or 1 keeps them all, as in ngc-learn.
//
// Weight defaults to ngc-learn's fan_in_gaussian, N(0, 1/fan_in) with
// fan_in = di + 2si (a block's pre units); draw index i·n_pre + j.
//
// The groups are the synapse's true sizes: ngc-learn's shape (N_in, N_out)
// corresponds to n_pre = n·⌊N_in/n⌋ + 2si and n_post = n·⌊N_out/n⌋ + 2sj
// (PatchedSizes). Sizes whose interior is not a multiple of n are an error
// here; ngc-learn accepts them and then declares compartments of size
// N_in + 2si, N_out + 2sj that disagree with its own weights (connect.md
// B.1, bug 3). ngc-learn's w_masks, a copy of the weights when sj ≠ 0 (bug
// 1), has no counterpart: the matrix's support is the structure.
type Patched struct {
	NSubModels int     `yaml:"n_sub_models"`
	Stride     [2]int  `yaml:"stride_shape,omitempty"`
	PConn      float64 `yaml:"p_conn,omitempty"`
	Weight     Init    `yaml:"weight,omitempty"`
	Clamp      Clamp   `yaml:",inline"`
}

func (Patched) Type() string { return "patched" }

// PatchedSizes returns the pre and post group sizes of ngc-learn's patched
// synapse of shape (nIn, nOut) with n sub-models and the given stride.
func PatchedSizes(nIn, nOut, n int, stride [2]int) (pre, post int) {
	return n*(nIn/n) + 2*stride[0], n*(nOut/n) + 2*stride[1]
}

func (c Patched) blocks(pre, post Group) (di, dj int, err error) {
	n, si, sj := c.NSubModels, c.Stride[0], c.Stride[1]
	if n < 1 {
		return 0, 0, paramErr("n_sub_models", "must be ≥ 1, got %d", n)
	}
	if si < 0 || sj < 0 {
		return 0, 0, paramErr("stride_shape", "must be ≥ 0, got %v", c.Stride)
	}
	np, nq := pre.Size(), post.Size()
	if np-2*si < n || (np-2*si)%n != 0 {
		return 0, 0, paramErr("from", "%d pre units less 2·%d border units must be a positive multiple of n_sub_models = %d", np, si, n)
	}
	if nq-2*sj < n || (nq-2*sj)%n != 0 {
		return 0, 0, paramErr("to", "%d post units less 2·%d border units must be a positive multiple of n_sub_models = %d", nq, sj, n)
	}
	return (np - 2*si) / n, (nq - 2*sj) / n, nil
}

func (c Patched) Check(pre, post Group) error {
	if err := checkGroups(pre, post); err != nil {
		return err
	}
	di, _, err := c.blocks(pre, post)
	if err != nil {
		return err
	}
	if err := checkDensity("p_conn", c.PConn); err != nil {
		return err
	}
	fan := di + 2*c.Stride[0]
	if err := c.Weight.or(Init{Kind: "fan_in_normal"}).check("weight", pre.Size()*post.Size(), fan); err != nil {
		return err
	}
	return c.Clamp.check()
}

// Owner returns the (post, pre) row-major map of the structure: the block
// that owns synapse (post i, pre j), or −1 where there is none (before
// PConn's thinning).
func (c Patched) Owner(pre, post Group) ([]int, error) {
	if err := c.Check(pre, post); err != nil {
		return nil, err
	}
	di, dj, _ := c.blocks(pre, post)
	np, nq := pre.Size(), post.Size()
	si, sj := c.Stride[0], c.Stride[1]
	own := make([]int, nq*np)
	for k := range own {
		own[k] = -1
	}
	for b := 0; b < c.NSubModels; b++ {
		for i := b * dj; i < (b+1)*dj+2*sj; i++ {
			for j := b * di; j < (b+1)*di+2*si; j++ {
				own[i*np+j] = b
			}
		}
	}
	for i := 0; i < nq; i++ {
		for j := 0; j < np; j++ {
			if j < si || j >= np-si || i < sj || i >= nq-sj {
				own[i*np+j] = -1
			}
		}
	}
	return own, nil
}

func (c Patched) Build(pre, post Group, r Random) (*Matrix, error) {
	own, err := c.Owner(pre, post)
	if err != nil {
		return nil, err
	}
	di, _, _ := c.blocks(pre, post)
	thin := c.PConn > 0 && c.PConn < 1
	w := c.Weight.or(Init{Kind: "fan_in_normal"})
	if err := checkRandom(r, thin || w.random()); err != nil {
		return nil, err
	}
	p := pairs{np: pre.Size(), nq: post.Size(), w: w, fanIn: di + 2*c.Stride[0]}
	m := &Matrix{Rows: p.nq, Cols: p.np, CSR: p.build(r, func(i, j int) bool {
		return own[i*p.np+j] >= 0 && (!thin || r.Uniform(StreamSynapse, i*p.np+j) < c.PConn)
	})}
	c.Clamp.Apply(m)
	return m, nil
}
