package augment

import "fmt"

// Remap samples src bilinearly at the source coordinates (mapX[i], mapY[i])
// of every output pixel i = y*W + x and writes the result to dst, the same
// coordinates for every channel. Pixel centres lie at integer coordinates, so
// an integer coordinate reproduces the source value exactly. Neighbours
// outside the image take the value fill, so the image fades into fill over
// one pixel at its border. mapX and mapY hold H*W values; dst and src one
// sample of shape s and must not overlap.
func Remap(dst, src []float32, s Shape, mapX, mapY []float32, fill float32) {
	mustFit("Remap", dst, src, s)
	plane := s.Plane()
	if len(mapX) != plane || len(mapY) != plane {
		panic(fmt.Sprintf("augment: Remap: len(mapX)=%d, len(mapY)=%d, want H*W=%d", len(mapX), len(mapY), plane))
	}
	w, h := s.W, s.H
	fw, fh := float32(w), float32(h)
	for i := range plane {
		sx, sy := mapX[i], mapY[i]
		// Written so that NaN coordinates also take the fill.
		if !(sx > -1 && sx < fw && sy > -1 && sy < fh) {
			for c := i; c < len(dst); c += plane {
				dst[c] = fill
			}
			continue
		}
		// Floor by truncation, corrected for negative coordinates (> -1
		// here, so at most one step); cheaper than math.Floor.
		x0, y0 := int(sx), int(sy)
		if float32(x0) > sx {
			x0--
		}
		if float32(y0) > sy {
			y0--
		}
		fx, fy := sx-float32(x0), sy-float32(y0)
		o := y0*w + x0
		if x0 >= 0 && y0 >= 0 && x0+1 < w && y0+1 < h {
			for c := 0; c < len(src); c += plane {
				t, b := src[c+o:c+o+2], src[c+o+w:c+o+w+2]
				top := t[0] + fx*(t[1]-t[0])
				bot := b[0] + fx*(b[1]-b[0])
				dst[c+i] = top + fy*(bot-top)
			}
			continue
		}
		in00 := x0 >= 0 && y0 >= 0
		in01 := x0+1 < w && y0 >= 0
		in10 := x0 >= 0 && y0+1 < h
		in11 := x0+1 < w && y0+1 < h
		for c := 0; c < len(src); c += plane {
			v00, v01, v10, v11 := fill, fill, fill, fill
			if in00 {
				v00 = src[c+o]
			}
			if in01 {
				v01 = src[c+o+1]
			}
			if in10 {
				v10 = src[c+o+w]
			}
			if in11 {
				v11 = src[c+o+w+1]
			}
			top := v00 + fx*(v01-v00)
			bot := v10 + fx*(v11-v10)
			dst[c+i] = top + fy*(bot-top)
		}
	}
}
