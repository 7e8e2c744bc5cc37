package input

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// Load finds the configurations named by arg: a file, "-" for stdin, or a
// directory, walked for *.yaml, *.yml and *.json (kustomization files
// skipped). A file named directly must hold a configuration; files a
// directory walk finds without one are skipped, but the directory must hold
// one somewhere.
func Load(arg string, stdin io.Reader) Found {
	if arg == "-" {
		return readOne(arg, stdin)
	}
	st, err := os.Stat(arg)
	if err != nil {
		return problem(arg, err)
	}
	if !st.IsDir() {
		return readOne(arg, stdin)
	}
	var all Found
	err = filepath.WalkDir(arg, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			all.Problems = append(all.Problems, problem(p, err).Problems...)
			return nil
		}
		if d.IsDir() || !configFile(p) {
			return nil
		}
		found := LoadFile(p)
		all.Configs = append(all.Configs, found.Configs...)
		all.Problems = append(all.Problems, found.Problems...)
		return nil
	})
	if err != nil {
		return problem(arg, err)
	}
	if len(all.Configs) == 0 && len(all.Problems) == 0 {
		all.Problems = []Problem{{arg, "$", "no lanedye configuration in any *.yaml, *.yml or *.json file under it"}}
	}
	return all
}

// LoadFile reads one file without requiring a configuration in it.
func LoadFile(name string) Found {
	data, err := ReadFile(name, nil)
	if err != nil {
		return Found{Problems: []Problem{*err}}
	}
	return Read(name, data)
}

// ReadFile reads a file, or stdin for "-", up to one byte over
// MaxFileSize (Objects refuses more).
func ReadFile(name string, stdin io.Reader) ([]byte, *Problem) {
	r := stdin
	if name == "-" {
		name = Stdin
	} else {
		f, err := os.Open(name)
		if err != nil {
			return nil, &problem(name, err).Problems[0]
		}
		defer f.Close()
		r = f
	}
	data, err := io.ReadAll(io.LimitReader(r, MaxFileSize+1))
	if err != nil {
		return nil, &problem(name, err).Problems[0]
	}
	return data, nil
}

// readOne reads a file or "-" named directly: it must hold a
// configuration.
func readOne(name string, stdin io.Reader) Found {
	data, p := ReadFile(name, stdin)
	if p != nil {
		return Found{Problems: []Problem{*p}}
	}
	if name == "-" {
		name = Stdin
	}
	found := Read(name, data)
	if p := found.NoConfig(name); p != nil {
		found.Problems = append(found.Problems, *p)
	}
	return found
}

func configFile(p string) bool {
	switch strings.ToLower(filepath.Ext(p)) {
	case ".yaml", ".yml":
		return !strings.EqualFold(strings.TrimSuffix(filepath.Base(p), filepath.Ext(p)), "kustomization")
	case ".json":
		return true
	}
	return false
}

// problem is a file that cannot be read; the message is the error's,
// without the file name the source already gives.
func problem(name string, err error) Found {
	msg := err.Error()
	var pe *fs.PathError
	if errors.As(err, &pe) {
		msg = "cannot read: " + pe.Err.Error()
	}
	return Found{Problems: []Problem{{name, "$", msg}}}
}
