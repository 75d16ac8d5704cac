package tensor

// ConvChannelsLast reports whether a stride-stride, pad-pad convolution
// of c input and o output channels with a kh×kw kernel runs channels-last
// on a CPU backend, so that tests can make sure they cover both
// formulations.
func ConvChannelsLast(c, o, kh, kw, stride, pad int) bool {
	t := convTask{c: c, o: o, kh: kh, kw: kw, stride: stride, pad: pad}
	return t.channelsLast()
}
