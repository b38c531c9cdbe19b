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
		// GitHub takes 40 hex digits in any case as a commit: the SHA is
		// pinned and written in lower case, as the compromised list keys it.
		{"actions/checkout@B4FFDE65F46336AB88EB53BE808477A3936BAE11", false, Use{Kind: KindAction, Name: "actions/checkout", Owner: "actions", Repo: "checkout", Ref: sha, RefType: RefSHA, Pinned: true}},
		{"actions/checkout@B4ffde65f46336ab88eb53be808477a3936bae11", false, Use{Kind: KindAction, Name: "actions/checkout", Owner: "actions", Repo: "checkout", Ref: sha, RefType: RefSHA, Pinned: true}},
		// A short SHA could be a branch name: not pinned.
		{"actions/checkout@b4ffde6", false, Use{Kind: KindAction, Name: "actions/checkout", Owner: "actions", Repo: "checkout", Ref: "b4ffde6", RefType: RefTagOrBranch}},
		// GitHub trims the value: a block scalar's line break, spaces, tabs.
		{"tj-actions/changed-files@v44\n", false, Use{Kind: KindAction, Name: "tj-actions/changed-files", Owner: "tj-actions", Repo: "changed-files", Ref: "v44", RefType: RefTagOrBranch}},
		{" tj-actions/changed-files@v44", false, Use{Kind: KindAction, Name: "tj-actions/changed-files", Owner: "tj-actions", Repo: "changed-files", Ref: "v44", RefType: RefTagOrBranch}},
		{"\ttj-actions/changed-files@0E58ED8671D6B60D0890C21B07F8835ACE038E67  \n", false, Use{Kind: KindAction, Name: "tj-actions/changed-files", Owner: "tj-actions", Repo: "changed-files", Ref: "0e58ed8671d6b60d0890c21b07f8835ace038e67", RefType: RefSHA, Pinned: true}},
		{" acme/wf/.github/workflows/ci.yml@main ", true, Use{Kind: KindReusableWorkflow, Name: "acme/wf/.github/workflows/ci.yml", Owner: "acme", Repo: "wf", Path: ".github/workflows/ci.yml", Ref: "main", RefType: RefTagOrBranch}},
		{" ./.github/actions/setup\n", false, Use{Kind: KindLocal, Name: "./.github/actions/setup", Path: ".github/actions/setup", RefType: RefNone}},
		{" docker://alpine:3.20\n", false, Use{Kind: KindDocker, Name: "alpine", Ref: "3.20", RefType: RefTagOrBranch}},
		// Whitespace around the @ is not part of the name or ref.
		{"tj-actions/changed-files @ v44", false, Use{Kind: KindAction, Name: "tj-actions/changed-files", Owner: "tj-actions", Repo: "changed-files", Ref: "v44", RefType: RefTagOrBranch}},
		// No owner, repository, ref or image holds whitespace: GitHub
		// refuses it or reads the reference without it.
		{"tj-actions/ changed-files@v44", false, Use{Kind: KindAction, Name: "tj-actions/changed-files", Owner: "tj-actions", Repo: "changed-files", Ref: "v44", RefType: RefTagOrBranch}},
		{"tj-actions /changed-files@v 44", false, Use{Kind: KindAction, Name: "tj-actions/changed-files", Owner: "tj-actions", Repo: "changed-files", Ref: "v44", RefType: RefTagOrBranch}},
		{"docker:// redis:7", false, Use{Kind: KindDocker, Name: "redis", Ref: "7", RefType: RefTagOrBranch}},
		{"docker://red is:7", false, Use{Kind: KindDocker, Name: "redis", Ref: "7", RefType: RefTagOrBranch}},
		// A directory's name may: the path keeps it.
		{"acme/tools/ sub dir@v1", false, Use{Kind: KindAction, Name: "acme/tools/ sub dir", Owner: "acme", Repo: "tools", Path: " sub dir", Ref: "v1", RefType: RefTagOrBranch}},
		// GitHub splits the name at / and \ and drops empty segments.
		{"tj-actions//changed-files@v44", false, Use{Kind: KindAction, Name: "tj-actions/changed-files", Owner: "tj-actions", Repo: "changed-files", Ref: "v44", RefType: RefTagOrBranch}},
		{"/tj-actions/changed-files/@v44", false, Use{Kind: KindAction, Name: "tj-actions/changed-files", Owner: "tj-actions", Repo: "changed-files", Ref: "v44", RefType: RefTagOrBranch}},
		{`tj-actions\changed-files@v44`, false, Use{Kind: KindAction, Name: "tj-actions/changed-files", Owner: "tj-actions", Repo: "changed-files", Ref: "v44", RefType: RefTagOrBranch}},
		{"acme//wf//.github/workflows/ci.yml@main", true, Use{Kind: KindReusableWorkflow, Name: "acme/wf/.github/workflows/ci.yml", Owner: "acme", Repo: "wf", Path: ".github/workflows/ci.yml", Ref: "main", RefType: RefTagOrBranch}},
		// A fully qualified ref names the tag or branch after the prefix,
		// even one that looks like a SHA: a name can move.
		{"tj-actions/changed-files@refs/tags/v44", false, Use{Kind: KindAction, Name: "tj-actions/changed-files", Owner: "tj-actions", Repo: "changed-files", Ref: "v44", RefType: RefTagOrBranch}},
		{"actions/checkout@refs/heads/main", false, Use{Kind: KindAction, Name: "actions/checkout", Owner: "actions", Repo: "checkout", Ref: "main", RefType: RefTagOrBranch}},
		{"actions/checkout@refs/heads/" + sha, false, Use{Kind: KindAction, Name: "actions/checkout", Owner: "actions", Repo: "checkout", Ref: sha, RefType: RefTagOrBranch}},
		{"actions/checkout@refs/pull/1/merge", false, Use{Kind: KindAction, Name: "actions/checkout", Owner: "actions", Repo: "checkout", Ref: "refs/pull/1/merge", RefType: RefTagOrBranch}},
		// Self-repository references: the run's own commit, whatever ref follows.
		{"$/.github/actions/setup", false, Use{Kind: KindLocal, Name: "$/.github/actions/setup", Path: ".github/actions/setup", RefType: RefNone, Pinned: true}},
		{"$/.github/workflows/reusable.yml", true, Use{Kind: KindLocal, Name: "$/.github/workflows/reusable.yml", Path: ".github/workflows/reusable.yml", RefType: RefNone, Pinned: true}},
		{"$/.github/workflows/reusable.yml@tag", false, Use{Kind: KindLocal, Name: "$/.github/workflows/reusable.yml", Path: ".github/workflows/reusable.yml", RefType: RefNone, Pinned: true}},
		{" $/some-action\n", false, Use{Kind: KindLocal, Name: "$/some-action", Path: "some-action", RefType: RefNone, Pinned: true}},
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
		{" Tj-Actions/Changed-Files@v44\n", []string{"tj-actions/changed-files", "tj-actions/*"}},
		{" docker://Alpine:3.20 ", []string{"docker://alpine:3.20", "docker://alpine"}},
		{"$/.github/actions/setup", []string{}},
		{"docker:// Redis:7", []string{"docker://redis:7", "docker://redis"}},
		{"tj-actions/ changed-files@v44", []string{"tj-actions/changed-files", "tj-actions/*"}},
		{"tj-actions//changed-files/sub@v44", []string{"tj-actions/changed-files/sub", "tj-actions/changed-files", "tj-actions/*"}},
	}
	for _, tt := range tests {
		if got := ParseUses(tt.raw, false).Names; !reflect.DeepEqual(got, tt.want) {
			t.Errorf("ParseUses(%q).Names = %q, want %q", tt.raw, got, tt.want)
		}
	}
}
