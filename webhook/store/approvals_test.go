package store

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

// TestApprovals: an approval is saved once per delivery, listed while
// active for its workflow, not once expired or revoked, and a revoke is
// said once.
func TestApprovals(t *testing.T) {
	for name, dsn := range backends(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			s := open(t, dsn, nil)
			now := time.Now().UTC().Truncate(time.Millisecond)
			a := Approval{ID: "delivery-1", Repository: "acme/api", WorkflowPath: ".github/workflows/ci.yml",
				Files:    map[string]string{".github/workflows/ci.yml": "aa", ".github/actions/x/action.yml": "bb"},
				Policies: []string{"secret_exfiltration"}, Findings: []string{"reads secrets"}, Approver: "mona",
				RunID: 42, DecisionID: "dec-1", CreatedAt: now}
			got, err := s.SaveApproval(ctx, a)
			if err != nil || got.Approver != "mona" || got.Files[".github/actions/x/action.yml"] != "bb" || !got.CreatedAt.Equal(now) ||
				!got.ExpiresAt.IsZero() || !got.RevokedAt.IsZero() || len(got.Policies) != 1 {
				t.Fatalf("SaveApproval = %+v, %v", got, err)
			}
			again := a
			again.Approver = "other"
			if got, err := s.SaveApproval(ctx, again); err != nil || got.Approver != "mona" {
				t.Errorf("second SaveApproval = %+v, %v; want the first", got, err)
			}
			expired := a
			expired.ID, expired.ExpiresAt = "delivery-2", now.Add(-time.Minute)
			if _, err := s.SaveApproval(ctx, expired); err != nil {
				t.Fatal(err)
			}
			other := a
			other.ID, other.WorkflowPath = "delivery-3", ".github/workflows/release.yml"
			if _, err := s.SaveApproval(ctx, other); err != nil {
				t.Fatal(err)
			}
			active, err := s.ApprovalsFor(ctx, "acme/api", ".github/workflows/ci.yml", now)
			if err != nil || len(active) != 1 || active[0].ID != "delivery-1" {
				t.Errorf("ApprovalsFor = %+v, %v; want delivery-1 alone", active, err)
			}
			all, err := s.Approvals(ctx, "acme/api", 0)
			if err != nil || len(all) != 3 {
				t.Errorf("Approvals = %d, %v; want 3", len(all), err)
			}
			if ok, err := s.RevokeApproval(ctx, "delivery-1", "admin", now); !ok || err != nil {
				t.Errorf("RevokeApproval = %v, %v", ok, err)
			}
			if ok, err := s.RevokeApproval(ctx, "delivery-1", "admin", now); ok || err != nil {
				t.Errorf("second RevokeApproval = %v, %v; want false, nil", ok, err)
			}
			if _, err := s.RevokeApproval(ctx, "nope", "admin", now); !errors.Is(err, ErrNotFound) {
				t.Errorf("RevokeApproval(nope) = %v, want ErrNotFound", err)
			}
			if active, err := s.ApprovalsFor(ctx, "acme/api", ".github/workflows/ci.yml", now); err != nil || len(active) != 0 {
				t.Errorf("ApprovalsFor after the revoke = %+v, %v", active, err)
			}
		})
	}
}

// TestApprovalsInScope: the console's list holds the approvals of the
// repositories a scope sees, by owner or by name and whatever the case,
// newest first, and nothing of any other repository.
func TestApprovalsInScope(t *testing.T) {
	for name, dsn := range backends(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			s := open(t, dsn, nil)
			now := time.Now().UTC().Truncate(time.Millisecond)
			// acme-tools and acmeX share acme's first letters: an owner
			// of acme sees neither.
			for i, repo := range []string{"Acme/API", "acme/secret", "acme-tools/x", "acmeX/y", "globex/tool"} {
				a := Approval{ID: "d-" + repo, Repository: repo, WorkflowPath: ".github/workflows/ci.yml",
					Files: map[string]string{".github/workflows/ci.yml": "aa"}, Approver: "mona", CreatedAt: now.Add(time.Duration(i) * time.Minute)}
				if _, err := s.SaveApproval(ctx, a); err != nil {
					t.Fatal(err)
				}
			}
			for _, tc := range []struct {
				scope Scope
				want  string
			}{
				{Scope{}, ""},
				{Scope{All: true}, "globex/tool acmeX/y acme-tools/x acme/secret Acme/API"},
				{Scope{Owners: []string{"ACME"}}, "acme/secret Acme/API"},
				{Scope{Repositories: []string{"acme/api"}}, "Acme/API"},
				{Scope{Owners: []string{"globex"}, Repositories: []string{"acme/api", "acmex/y"}}, "globex/tool acmeX/y Acme/API"},
			} {
				list, err := s.ApprovalsIn(ctx, tc.scope, 0)
				if err != nil {
					t.Fatal(err)
				}
				var got []string
				for _, a := range list {
					got = append(got, a.Repository)
				}
				if strings.Join(got, " ") != tc.want {
					t.Errorf("%+v: %q, want %q", tc.scope, strings.Join(got, " "), tc.want)
				}
			}
		})
	}
}
