//go:build !(linux && cgo)

package cuda

import "fmt"

func openDriver([]string) (driver, error) {
	return nil, fmt.Errorf("%w: this build of troupe has no cgo or is not for Linux", ErrNoDevice)
}

func openNVRTC([]string) (driver, error) {
	return nil, fmt.Errorf("cuda: %w: this build has no cgo or is not for Linux", ErrNoNVRTC)
}
