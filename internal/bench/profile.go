package bench

import (
	"errors"
	"os"
	"runtime"
	"runtime/pprof"
)

// startProfiles starts the CPU, block and mutex profiles named (an empty
// name skips that one) and returns what stops them and writes the files.
// Block and mutex profiling sample every event while on: they are for
// finding where goroutines wait, and slow the run a little.
func startProfiles(cpu, block, mutex string) (func() error, error) {
	var cpuFile *os.File
	if cpu != "" {
		f, err := os.Create(cpu)
		if err != nil {
			return nil, err
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			_ = f.Close()
			return nil, err
		}
		cpuFile = f
	}
	if block != "" {
		runtime.SetBlockProfileRate(1)
	}
	if mutex != "" {
		runtime.SetMutexProfileFraction(1)
	}
	return func() error {
		var errList []error
		if cpuFile != nil {
			pprof.StopCPUProfile()
			errList = append(errList, cpuFile.Close())
		}
		if block != "" {
			errList = append(errList, writeProfile("block", block))
			runtime.SetBlockProfileRate(0)
		}
		if mutex != "" {
			errList = append(errList, writeProfile("mutex", mutex))
			runtime.SetMutexProfileFraction(0)
		}
		return errors.Join(errList...)
	}, nil
}

func writeProfile(name, path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := pprof.Lookup(name).WriteTo(f, 0); err != nil {
		_ = f.Close()
		return err
	}
	return f.Close()
}
