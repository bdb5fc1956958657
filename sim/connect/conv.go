package connect

import "math"

// Conv is a 2-D convolution from a pre group shaped (C_in, H, W) to a post
// group shaped (Out, Ho, Wo) (or any shape of that size), as
// torch.nn.functional.conv2d computes it (cross-correlation, zero padding):
//
//	post[o, y, x] = bias[o] + Σ_{ci, a, b} kernel[o, ci, a, b] ·
//	    pre[g·C_in/G + ci, y·Sh − Ph + a·Dh, x·Sw − Pw + b·Dw]
//
// with g = o / (Out/G), ci < C_in/G, taps outside [0,H)×[0,W) left out.
// Ho = ⌊(H + 2Ph − Dh·(Kh−1) − 1)/Sh⌋ + 1, and the same for Wo. The kernel is
// (Out, C_in/G, Kh, Kw) row-major: Weight's draw index is that flat index
// and an array has that shape. Each (post, pre) pair gets at most one tap,
// so the matrix entries are kernel values; the result is CSR with one
// stored entry per tap (a tap of value 0 included).
//
// Weight defaults to torch's Conv2d init, kaiming_uniform with a = √5
// (U(±1/√fan_in)), fan_in = C_in/G·Kh·Kw. Bias (Kind "" = none) has one value
// per output channel, draw index o, spread to every post unit of channel o;
// torch's Conv2d default bias is Init{Kind: "fan_in_uniform"}. The clamp
// applies to the taps.
//
// Differences from SPAIC's conv_connect, on purpose: SPAIC checks the post
// size with a formula that ignores dilation, refusing every dilation > 1;
// its kernel is (Out, in_channels, Kh, Kw) with no division by groups, so
// groups > 1 works only when in_channels is passed as C_in/G; its default
// init is N(0.05, 0.05²); and it never clamps conv weights.
type Conv struct {
	OutChannels int    `yaml:"out_channels"`
	Kernel      [2]int `yaml:"kernel_size"`      // (Kh, Kw)
	Stride      [2]int `yaml:"stride,omitempty"` // zero means 1
	Padding     [2]int `yaml:"padding,omitempty"`
	Dilation    [2]int `yaml:"dilation,omitempty"` // zero means 1
	Groups      int    `yaml:"groups,omitempty"`   // zero means 1
	Weight      Init   `yaml:"weight,omitempty"`
	Bias        Init   `yaml:"bias,omitempty"`
	Clamp       Clamp  `yaml:",inline"`
}

func (Conv) Type() string { return "conv" }

func one(v int) int {
	if v == 0 {
		return 1
	}
	return v
}

// geometry returns the resolved parameters and output size.
type convGeom struct {
	cin, h, w, out, kh, kw, sh, sw, ph, pw, dh, dw, g, ho, wo int
}

func (c Conv) geometry(pre Group) (convGeom, error) {
	if len(pre.Shape) != 3 {
		return convGeom{}, paramErr("from", "conv needs a pre group shaped (channels, height, width), got %v", pre.Shape)
	}
	g := convGeom{cin: pre.Shape[0], h: pre.Shape[1], w: pre.Shape[2], out: c.OutChannels,
		kh: c.Kernel[0], kw: c.Kernel[1], sh: one(c.Stride[0]), sw: one(c.Stride[1]),
		ph: c.Padding[0], pw: c.Padding[1], dh: one(c.Dilation[0]), dw: one(c.Dilation[1]), g: one(c.Groups)}
	switch {
	case g.out < 1:
		return g, paramErr("out_channels", "must be ≥ 1, got %d", g.out)
	case g.kh < 1 || g.kw < 1:
		return g, paramErr("kernel_size", "must be ≥ 1, got %v", c.Kernel)
	case g.sh < 1 || g.sw < 1:
		return g, paramErr("stride", "must be ≥ 1, got %v", c.Stride)
	case g.ph < 0 || g.pw < 0:
		return g, paramErr("padding", "must be ≥ 0, got %v", c.Padding)
	case g.dh < 1 || g.dw < 1:
		return g, paramErr("dilation", "must be ≥ 1, got %v", c.Dilation)
	case g.g < 1 || g.cin%g.g != 0 || g.out%g.g != 0:
		return g, paramErr("groups", "must be ≥ 1 and divide in channels %d and out_channels %d, got %d", g.cin, g.out, g.g)
	}
	g.ho = (g.h+2*g.ph-g.dh*(g.kh-1)-1)/g.sh + 1
	g.wo = (g.w+2*g.pw-g.dw*(g.kw-1)-1)/g.sw + 1
	if g.h+2*g.ph-g.dh*(g.kh-1)-1 < 0 || g.w+2*g.pw-g.dw*(g.kw-1)-1 < 0 {
		return g, paramErr("kernel_size", "the dilated kernel %d×%d is larger than the padded input %d×%d",
			g.dh*(g.kh-1)+1, g.dw*(g.kw-1)+1, g.h+2*g.ph, g.w+2*g.pw)
	}
	return g, nil
}

// OutputShape returns the post group's shape (Out, Ho, Wo) for this pre
// group.
func (c Conv) OutputShape(pre Group) ([]int, error) {
	g, err := c.geometry(pre)
	if err != nil {
		return nil, err
	}
	return []int{g.out, g.ho, g.wo}, nil
}

func (c Conv) fanIn(g convGeom) int { return g.cin / g.g * g.kh * g.kw }

func (c Conv) Check(pre, post Group) error {
	if err := checkGroups(pre, post); err != nil {
		return err
	}
	g, err := c.geometry(pre)
	if err != nil {
		return err
	}
	if post.Size() != g.out*g.ho*g.wo {
		return paramErr("to", "conv output is (%d, %d, %d), %d units; the group %v has %d", g.out, g.ho, g.wo, g.out*g.ho*g.wo, post.Shape, post.Size())
	}
	if len(post.Shape) == 3 && (post.Shape[0] != g.out || post.Shape[1] != g.ho || post.Shape[2] != g.wo) {
		return paramErr("to", "conv output is shaped (%d, %d, %d), the group %v", g.out, g.ho, g.wo, post.Shape)
	}
	fan := c.fanIn(g)
	if err := c.Weight.or(torchConvInit).check("weight", g.out*fan, fan); err != nil {
		return err
	}
	if c.Bias.Kind != "" {
		if err := c.Bias.check("bias", g.out, fan); err != nil {
			return err
		}
	}
	return c.Clamp.check()
}

var torchConvInit = Init{Kind: "kaiming_uniform", A: math.Sqrt(5)}

func (c Conv) Build(pre, post Group, r Random) (*Matrix, error) {
	if err := c.Check(pre, post); err != nil {
		return nil, err
	}
	g, _ := c.geometry(pre)
	w := c.Weight.or(torchConvInit)
	if err := checkRandom(r, w.random() || c.Bias.Kind != "" && c.Bias.random()); err != nil {
		return nil, err
	}
	fan := c.fanIn(g)
	kernel := make([]float64, g.out*fan)
	if w.Kind != "zero" {
		for k := range kernel {
			kernel[k] = w.draw(r, StreamWeight, k, fan)
		}
	}
	cpg, opg := g.cin/g.g, g.out/g.g
	rows, cols := g.out*g.ho*g.wo, g.cin*g.h*g.w
	b := newCSR(rows, cols)
	for o := 0; o < g.out; o++ {
		gi := o / opg
		for y := 0; y < g.ho; y++ {
			for x := 0; x < g.wo; x++ {
				// ci, then a, then b ascending gives ascending columns: the
				// channel is the slowest index of the pre layout, and input
				// rows and columns grow with a and b (dilation ≥ 1).
				for ci := 0; ci < cpg; ci++ {
					for a := 0; a < g.kh; a++ {
						hy := y*g.sh - g.ph + a*g.dh
						if hy < 0 || hy >= g.h {
							continue
						}
						for bb := 0; bb < g.kw; bb++ {
							wx := x*g.sw - g.pw + bb*g.dw
							if wx < 0 || wx >= g.w {
								continue
							}
							b.add(((gi*cpg+ci)*g.h+hy)*g.w+wx, kernel[((o*cpg+ci)*g.kh+a)*g.kw+bb])
						}
					}
				}
				b.endRow()
			}
		}
	}
	m := &Matrix{Rows: rows, Cols: cols, CSR: b.c}
	if ch := drawBias(c.Bias, r, g.out, fan); ch != nil {
		m.Bias = make([]float64, rows)
		for i := range m.Bias {
			m.Bias[i] = ch[i/(g.ho*g.wo)]
		}
	}
	c.Clamp.Apply(m)
	return m, nil
}
