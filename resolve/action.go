package resolve

import (
	"fmt"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/runpolicy/runpolicy/internal/oneline"
)

// actionMeta is the part of an action's metadata file the resolver needs:
// how it runs and which other references it pulls in.
type actionMeta struct {
	using  string   // composite, docker, node20, …
	uses   []string // the uses of a composite action's steps, in order
	image  string   // a docker action's image: Dockerfile or docker://…
	runs   []string // the files a JavaScript or Dockerfile action runs, relative to its directory
	file   string   // the metadata file's path in its repository
	digest string   // SHA-256 of the metadata file
}

// actionFile mirrors action.yml as far as the resolver reads it.
type actionFile struct {
	Runs struct {
		Using string       `yaml:"using"`
		Image string       `yaml:"image"`
		Main  string       `yaml:"main"`
		Pre   string       `yaml:"pre"`
		Post  string       `yaml:"post"`
		Steps []actionStep `yaml:"steps"`
	} `yaml:"runs"`
}

// actionStep is a composite action's step: its uses, or the steps of a
// parallel block (GitHub, June 2026), which run all the same.
type actionStep struct {
	Uses     string       `yaml:"uses"`
	Parallel []actionStep `yaml:"parallel"`
}

// appendUses appends the uses of steps and of the steps of their parallel
// blocks, in file order.
func appendUses(uses []string, steps []actionStep) []string {
	for _, s := range steps {
		if u := strings.TrimSpace(s.Uses); u != "" {
			uses = append(uses, u)
		}
		uses = appendUses(uses, s.Parallel)
	}
	return uses
}

// decodeAction parses an action metadata file. It is not a workflow, so it
// does not go through input.Parse; yaml.v3 refuses excessive aliasing and
// the caller has already bounded the size.
func decodeAction(src []byte) (m *actionMeta, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("YAML parser panicked: %v", p)
		}
	}()
	var f actionFile
	if err := yaml.Unmarshal(src, &f); err != nil {
		return nil, fmt.Errorf("not action metadata: %s", oneline.Fold(strings.TrimPrefix(err.Error(), "yaml: ")))
	}
	m = &actionMeta{using: strings.ToLower(strings.TrimSpace(f.Runs.Using)), image: strings.TrimSpace(f.Runs.Image)}
	if m.using == "" {
		return nil, fmt.Errorf("not action metadata: runs.using is missing")
	}
	switch {
	case strings.HasPrefix(m.using, "node"):
		for _, p := range []string{f.Runs.Main, f.Runs.Pre, f.Runs.Post} {
			if p = strings.TrimSpace(p); p != "" {
				m.runs = append(m.runs, p)
			}
		}
	case m.using == "docker" && m.image != "" && !strings.HasPrefix(m.image, "docker://"):
		m.runs = append(m.runs, m.image)
	}
	m.uses = appendUses(nil, f.Runs.Steps)
	return m, nil
}
