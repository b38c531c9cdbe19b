package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"

	"sigs.k8s.io/yaml"

	"github.com/runpolicy/runpolicy/bundles"
	"github.com/runpolicy/runpolicy/engine"
	"github.com/runpolicy/runpolicy/engine/input"
	"github.com/runpolicy/runpolicy/internal/bounded"
	"github.com/runpolicy/runpolicy/internal/oneline"
)

// maxInputFile bounds what the command line reads from any one file; the
// normalizer applies its own, smaller limit to workflows.
const maxInputFile = 64 << 20

// readFile reads a local file of at most maxInputFile bytes.
func readFile(path string) ([]byte, error) { return bounded.ReadFile(path, maxInputFile) }

// readData reads a --data file (JSON or YAML) as one object, and a
// locator that finds the line of each key in it, so errors about a setting
// name file:line.
func readData(path string) (map[string]any, engine.Locator, error) {
	doc, b, err := decodeData(path)
	if err != nil {
		return nil, nil, err
	}
	return doc, engine.Locate(engine.DataFile{Name: path, Src: b}), nil
}

func decodeData(path string) (map[string]any, []byte, error) {
	b, err := readFile(path)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	var doc map[string]any
	switch strings.ToLower(filepath.Ext(path)) {
	case ".json":
		err = json.Unmarshal(b, &doc)
	default:
		// sigs.k8s.io/yaml converts to JSON first, so the result has only JSON
		// types, and it refuses alias bombs through yaml.v3's own limits.
		err = yaml.Unmarshal(b, &doc)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("%s: not a JSON or YAML object: %s", path, oneline.Error(err))
	}
	if doc == nil {
		return nil, nil, fmt.Errorf("%s: empty data file", path)
	}
	return doc, b, nil
}

// newEngine loads the built-in bundle (unless noBuiltin), every --policy
// source and every --data file. allow names the network built-ins policies
// may call.
func newEngine(ctx context.Context, policyPaths, dataPaths []string, noBuiltin bool, allow ...string) (*engine.Engine, error) {
	src, err := loadSources(ctx, policyPaths, dataPaths, noBuiltin, allow...)
	if err != nil {
		return nil, err
	}
	return src.engine(ctx)
}

// sources are what an engine is built from, loaded once: eval builds a
// second engine from the same sources for action files.
type sources struct {
	bundles []engine.Bundle
	opts    []engine.Option
}

// loadSources opens every --policy source and reads every --data file.
func loadSources(ctx context.Context, policyPaths, dataPaths []string, noBuiltin bool, allow ...string) (*sources, error) {
	src := &sources{opts: []engine.Option{engine.WithAllowedBuiltins(allow...)}}
	for _, p := range policyPaths {
		b, err := bundles.Open(ctx, p)
		if err != nil {
			return nil, fmt.Errorf("policy %s: %s", p, oneline.Error(err))
		}
		src.bundles = append(src.bundles, b)
	}
	for _, p := range dataPaths {
		d, where, err := readData(p)
		if err != nil {
			return nil, fmt.Errorf("data %w", err)
		}
		src.opts = append(src.opts, engine.WithDataFile("data "+p, d, where))
	}
	if noBuiltin {
		src.opts = append(src.opts, engine.WithoutBuiltin())
	}
	return src, nil
}

// engine builds an engine from the sources; extra options come after the
// --data files, so data they add is merged over them.
func (s *sources) engine(ctx context.Context, extra ...engine.Option) (*engine.Engine, error) {
	eng, err := engine.New(ctx, s.bundles, append(slices.Clip(s.opts), extra...)...)
	if err != nil {
		return nil, errors.New(oneline.Error(err))
	}
	return eng, nil
}

// runContext reads the run context from a --event payload, or makes the
// local one (a push to the default branch). base, when set, is the default
// branch's copy of the workflow, which decides workflow.modified.
func runContext(eventPath, workflowPath string, base []byte, hasBase bool) (input.Context, error) {
	c := input.LocalContext(workflowPath)
	if eventPath != "" {
		b, err := readFile(eventPath)
		if err != nil {
			return c, fmt.Errorf("event %s: %w", eventPath, err)
		}
		if c, err = input.ParseEvent(b); err != nil {
			return c, fmt.Errorf("event %s: %s", eventPath, oneline.Error(err))
		}
		if c.WorkflowPath == "" {
			c.WorkflowPath = workflowPath
		}
	}
	if hasBase {
		sum := sha256.Sum256(base)
		hexSum := hex.EncodeToString(sum[:])
		c.DefaultBranchSHA256 = &hexSum
		c.DefaultBranchKnown = true
	}
	return c, nil
}
