package main

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/runpolicy/runpolicy/engine"
)

// printers render eval results by --format.
var printers = map[string]func(io.Writer, []result) error{
	"text":  printText,
	"json":  printJSON,
	"sarif": printSARIF,
}

// printText writes one line per finding, file:line first so editors and
// terminals link it, and a summary line a person reads at a glance.
func printText(w io.Writer, results []result) error {
	var denied, enforced, dryRun, warnings int
	for _, r := range results {
		byLine(r.Violations)
		byLine(r.Warnings)
		for _, pe := range r.ParseErrors {
			fmt.Fprintf(w, "%s:%d:%d: parse error: %s\n", r.File, pe.Line, pe.Column, pe.Message)
		}
		for _, v := range r.Violations {
			label := "DENY"
			if v.Mode != "enforce" {
				label = "DRY-RUN"
				dryRun++
			} else {
				enforced++
			}
			fmt.Fprintf(w, "%s: %s %s: %s\n", location(r.File, v.Line), label, v.Policy, v.Message)
		}
		for _, v := range r.Warnings {
			warnings++
			fmt.Fprintf(w, "%s: WARN %s: %s\n", location(r.File, v.Line), v.Policy, v.Message)
		}
		if !r.Allow {
			denied++
		}
	}
	verdict := "allowed"
	if denied > 0 {
		verdict = fmt.Sprintf("%d denied", denied)
	}
	_, err := fmt.Fprintf(w, "%s, %s: %s, %s, %s\n",
		plural(len(results), "workflow"), verdict,
		plural(enforced, "enforced violation"), plural(dryRun, "dry-run violation"), plural(warnings, "warning"))
	return err
}

// byLine orders findings as a person reads the file: by line, then policy.
func byLine(vs []engine.Violation) {
	sort.SliceStable(vs, func(i, j int) bool {
		if vs[i].Line != vs[j].Line {
			return vs[i].Line < vs[j].Line
		}
		return vs[i].Policy < vs[j].Policy
	})
}

func location(file string, line int) string {
	if line > 0 {
		return fmt.Sprintf("%s:%d", file, line)
	}
	return file
}

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

func printJSON(w io.Writer, results []result) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(results)
}

// printSARIF writes SARIF 2.1.0, which GitHub code scanning and most CI
// viewers read: one rule per policy, one result per violation or warning.
func printSARIF(w io.Writer, results []result) error {
	type (
		message struct {
			Text string `json:"text"`
		}
		region struct {
			StartLine int `json:"startLine,omitempty"`
		}
		artifact struct {
			URI string `json:"uri"`
		}
		physical struct {
			ArtifactLocation artifact `json:"artifactLocation"`
			Region           *region  `json:"region,omitempty"`
		}
		location struct {
			PhysicalLocation physical `json:"physicalLocation"`
		}
		sresult struct {
			RuleID    string     `json:"ruleId"`
			Level     string     `json:"level"`
			Message   message    `json:"message"`
			Locations []location `json:"locations"`
		}
		rule struct {
			ID               string  `json:"id"`
			ShortDescription message `json:"shortDescription"`
		}
	)
	var out []sresult
	rules := map[string]bool{}
	add := func(file string, v engine.Violation, level string) {
		rules[v.Policy] = true
		loc := location{PhysicalLocation: physical{ArtifactLocation: artifact{URI: file}}}
		if v.Line > 0 {
			loc.PhysicalLocation.Region = &region{StartLine: v.Line}
		}
		out = append(out, sresult{RuleID: v.Policy, Level: level, Message: message{v.Message}, Locations: []location{loc}})
	}
	for _, r := range results {
		for _, v := range r.Violations {
			level := "error"
			if v.Mode != "enforce" {
				level = "warning"
			}
			add(r.File, v, level)
		}
		for _, v := range r.Warnings {
			add(r.File, v, "note")
		}
	}
	ids := make([]string, 0, len(rules))
	for id := range rules {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	ruleList := make([]rule, 0, len(ids))
	for _, id := range ids {
		ruleList = append(ruleList, rule{ID: id, ShortDescription: message{"runpolicy policy " + strings.ReplaceAll(id, "_", " ")}})
	}
	if out == nil {
		out = []sresult{}
	}
	doc := map[string]any{
		"$schema": "https://json.schemastore.org/sarif-2.1.0.json",
		"version": "2.1.0",
		"runs": []any{map[string]any{
			"tool":    map[string]any{"driver": map[string]any{"name": "runpolicy", "informationUri": "https://github.com/runpolicy/runpolicy", "rules": ruleList}},
			"results": out,
		}},
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(doc)
}
