package input

import (
	"reflect"
	"testing"
)

func TestParseUses(t *testing.T) {
	const sha = "b4ffde65f46336ab88eb53be808477a3936bae11"
	tests := []struct {
		raw      string
		jobLevel bool
		want     Use
	}{
		{"actions/checkout@v4", false, Use{Kind: KindAction, Name: "actions/checkout", Owner: "actions", Repo: "checkout", Ref: "v4", RefType: RefTagOrBranch}},
		{"actions/checkout@" + sha, false, Use{Kind: KindAction, Name: "actions/checkout", Owner: "actions", Repo: "checkout", Ref: sha, RefType: RefSHA, Pinned: true}},
		{"github/codeql-action/init/sub@v3", false, Use{Kind: KindAction, Name: "github/codeql-action/init/sub", Owner: "github", Repo: "codeql-action", Path: "init/sub", Ref: "v3", RefType: RefTagOrBranch}},
		// An upper-case or short hex ref could be a branch name: not pinned.
		{"actions/checkout@B4FFDE65F46336AB88EB53BE808477A3936BAE11", false, Use{Kind: KindAction, Name: "actions/checkout", Owner: "actions", Repo: "checkout", Ref: "B4FFDE65F46336AB88EB53BE808477A3936BAE11", RefType: RefTagOrBranch}},
		{"actions/checkout@b4ffde6", false, Use{Kind: KindAction, Name: "actions/checkout", Owner: "actions", Repo: "checkout", Ref: "b4ffde6", RefType: RefTagOrBranch}},
		{"actions/checkout", false, Use{Kind: KindAction, Name: "actions/checkout", Owner: "actions", Repo: "checkout", RefType: RefNone}},
		{"actions/checkout@", false, Use{Kind: KindAction, Name: "actions/checkout", Owner: "actions", Repo: "checkout", RefType: RefNone}},
		{"weird", false, Use{Kind: KindAction, Name: "weird", Owner: "weird", RefType: RefNone}},
		{"", false, Use{Kind: KindAction, RefType: RefNone}},
		{"acme/wf/.github/workflows/ci.yml@main", true, Use{Kind: KindReusableWorkflow, Name: "acme/wf/.github/workflows/ci.yml", Owner: "acme", Repo: "wf", Path: ".github/workflows/ci.yml", Ref: "main", RefType: RefTagOrBranch}},
		{"./.github/workflows/ci.yml", true, Use{Kind: KindLocal, Name: "./.github/workflows/ci.yml", Path: ".github/workflows/ci.yml", RefType: RefNone}},
		{"./.github/actions/setup", false, Use{Kind: KindLocal, Name: "./.github/actions/setup", Path: ".github/actions/setup", RefType: RefNone}},
		{"./", false, Use{Kind: KindLocal, Name: "./", RefType: RefNone}},
		{"docker://alpine", false, Use{Kind: KindDocker, Name: "alpine", RefType: RefNone}},
		{"docker://alpine:3.20", false, Use{Kind: KindDocker, Name: "alpine", Ref: "3.20", RefType: RefTagOrBranch}},
		{"docker://localhost:5000/a/b:1", false, Use{Kind: KindDocker, Name: "localhost:5000/a/b", Ref: "1", RefType: RefTagOrBranch}},
		{"docker://rhysd/actionlint@latest", false, Use{Kind: KindDocker, Name: "rhysd/actionlint", Ref: "latest", RefType: RefTagOrBranch}},
		{"docker://ghcr.io/a/b@sha256:" + sha + sha[:24], false, Use{Kind: KindDocker, Name: "ghcr.io/a/b", Ref: "sha256:" + sha + sha[:24], RefType: RefSHA, Pinned: true}},
		{"docker://ghcr.io/a/b@sha256:abc", false, Use{Kind: KindDocker, Name: "ghcr.io/a/b", Ref: "sha256:abc", RefType: RefTagOrBranch}},
	}
	for _, tt := range tests {
		t.Run(tt.raw, func(t *testing.T) {
			tt.want.Raw = tt.raw
			tt.want.Via = []string{}
			tt.want.Source = SourceStep // a step's uses, or a job's below
			if tt.jobLevel {
				tt.want.Source = SourceJob
			}
			got := ParseUses(tt.raw, tt.jobLevel)
			got.Names = nil // TestUseNames covers them
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("ParseUses(%q)\n got: %+v\nwant: %+v", tt.raw, got, tt.want)
			}
		})
	}
}

func TestUseNames(t *testing.T) {
	tests := []struct {
		raw  string
		want []string
	}{
		{"Actions/Checkout@v4", []string{"actions/checkout", "actions/*"}},
		{"github/codeql-action/init@v3", []string{"github/codeql-action/init", "github/codeql-action", "github/*"}},
		{"acme/wf/.github/workflows/CI.yml@main", []string{"acme/wf/.github/workflows/ci.yml", "acme/wf", "acme/*"}},
		{"weird", []string{"weird", "weird/*"}},
		{"", []string{}},
		{"./.github/actions/setup", []string{}},
		{"docker://alpine", []string{"docker://alpine"}},
		{"docker://Alpine:3.20", []string{"docker://alpine:3.20", "docker://alpine"}},
		{"docker://localhost:5000/a/b", []string{"docker://localhost:5000/a/b"}},
		{"docker://localhost:5000/a/b:1", []string{"docker://localhost:5000/a/b:1", "docker://localhost:5000/a/b"}},
		{"docker://ghcr.io/a/b:1@sha256:abc", []string{"docker://ghcr.io/a/b:1@sha256:abc", "docker://ghcr.io/a/b"}},
	}
	for _, tt := range tests {
		if got := ParseUses(tt.raw, false).Names; !reflect.DeepEqual(got, tt.want) {
			t.Errorf("ParseUses(%q).Names = %q, want %q", tt.raw, got, tt.want)
		}
	}
}
