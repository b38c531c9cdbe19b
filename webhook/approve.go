package webhook

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"time"

	"github.com/google/uuid"

	"github.com/runpolicy/runpolicy/github"
	"github.com/runpolicy/runpolicy/internal/oneline"
	"github.com/runpolicy/runpolicy/webhook/store"
)

// The approve action of a cancelled run's check run. GitHub bounds a
// label to 20 characters, a description to 40 and an identifier to 20.
const (
	approveLabel       = "Approve this version"
	approveDescription = "Approve this workflow version"
	approveIdentifier  = "approve"
)

// approvalText says, in Markdown, who approved the workflow version, that
// a click was refused and who may approve, or how to approve; "" when the
// run cannot be approved.
func approvalText(v *verdict) string {
	role := v.approveRole
	if role == "" {
		role = DefaultConfig().ApprovePermission
	}
	switch {
	case v.approval != nil && v.approval.Approver != "":
		return fmt.Sprintf(":white_check_mark: **Approved by @%s**: this version of the workflow and the files it runs may run "+
			"despite the findings above, and the run was re-run. An edit to any of them needs a new approval.", v.approval.Approver)
	case !v.approvable():
		return ""
	case v.approval != nil && v.approval.Refused != "":
		return fmt.Sprintf("@%s asked to approve this workflow version but has less than the **%s** permission on the repository. "+
			"Someone with %s may approve it with **%s** on the check run.", v.approval.Refused, role, rolesFrom(role), approveLabel)
	default:
		return fmt.Sprintf("Someone with %s may approve this exact version of the workflow (and of the files it runs) with **%s** "+
			"on the check run: the run is then re-run and allowed.", rolesFrom(role), approveLabel)
	}
}

// rolesFrom names the repository roles at least role: "the maintain or
// admin permission".
func rolesFrom(role string) string {
	for i, r := range github.Roles {
		if r != role {
			continue
		}
		if i == len(github.Roles)-1 {
			return "the " + r + " permission"
		}
		rest := github.Roles[i:]
		return "the " + joinOr(rest) + " permission"
	}
	return "the " + role + " permission"
}

func joinOr(s []string) string {
	if len(s) < 2 {
		return fmt.Sprint(s[0])
	}
	out := s[0]
	for _, x := range s[1 : len(s)-1] {
		out += ", " + x
	}
	return out + " or " + s[len(s)-1]
}

// approveClient is what the approve handler asks GitHub, as one
// installation (*github.Client).
type approveClient interface {
	Permission(ctx context.Context, owner, repo, user string) (string, error)
	RerunRun(ctx context.Context, owner, repo string, id int64) error
}

// approveStore is what the approve handler reads and records
// (*store.Store).
type approveStore interface {
	Action(ctx context.Context, key store.RunKey, name string) (store.Action, error)
	Claim(ctx context.Context, key store.RunKey, name, owner string, level int) (store.Action, error)
	Complete(ctx context.Context, key store.RunKey, name, owner, ref string) error
	DecisionByID(ctx context.Context, id string) (*store.Decision, error)
	SaveDecision(ctx context.Context, d store.Decision) (store.Decision, error)
	SaveApproval(ctx context.Context, a store.Approval) (store.Approval, error)
}

// approveHandler answers a click on a cancelled run's "Approve this
// version" (a check_run requested_action delivery, signed like any other):
// a requester with approve_permission approves the version of the
// workflow the run's decision covered, the run is re-run, and its reports
// say who approved; anyone else gets a note naming who may.
type approveHandler struct {
	clients func(installation int64) approveClient
	store   approveStore
	actor   *actor
	// role is approve_permission, expiry approval_expiry (0: none);
	// instance names this process in the decision log.
	role     string
	expiry   time.Duration
	instance string
}

func (h approveHandler) Handles() []string { return []string{"check_run"} }

func (h approveHandler) Wants(e envelope) bool { return e.Action == "requested_action" }

// actionRerun is claimed by the approval that re-runs a run attempt.
const actionRerun = "rerun"

// Outcomes of a click, in the decision log.
const (
	outcomeApproved = "approved"
	outcomeRefused  = "refused"
	outcomeRevoked  = "revoked"
)

// eventRevoke is the decision log's event of a revoke (through the admin
// API, not a delivery).
const eventRevoke = "approval_revoke"

// clickPayload is what a check_run requested_action delivery says.
type clickPayload struct {
	CheckRun struct {
		ID         int64  `json:"id"`
		ExternalID string `json:"external_id"`
		HeadSHA    string `json:"head_sha"`
	} `json:"check_run"`
	RequestedAction struct {
		Identifier string `json:"identifier"`
	} `json:"requested_action"`
	Repository struct {
		FullName string `json:"full_name"`
	} `json:"repository"`
	Sender struct {
		Login string `json:"login"`
	} `json:"sender"`
}

func (h approveHandler) Handle(ctx context.Context, d delivery) (outcome, error) {
	var p clickPayload
	if err := json.Unmarshal(d.Payload, &p); err != nil {
		return skipped(d.log, "check_run payload unreadable: "+oneline.Fold(err.Error())), nil
	}
	var runID int64
	var attempt int
	if _, err := fmt.Sscanf(p.CheckRun.ExternalID, "run-%d-attempt-%d", &runID, &attempt); err != nil || p.Repository.FullName == "" {
		return skipped(d.log, "check run is not a run's report"), nil
	}
	if p.RequestedAction.Identifier != approveIdentifier {
		return skipped(d.log, "unknown check run action "+strconv.Quote(p.RequestedAction.Identifier)), nil
	}
	key := store.RunKey{Repository: p.Repository.FullName, RunID: runID, Attempt: attempt}
	log := d.log.With("repository", key.Repository, "run_id", runID, "run_attempt", attempt, "requester", p.Sender.Login)
	v, err := h.verdict(ctx, key)
	if err != nil {
		return outcome{}, err
	}
	if v == nil || !v.approvable() {
		return skipped(log, "the run's findings are not all approvable"), nil
	}
	if v.Run.Installation == 0 {
		v.Run.Installation = d.InstallationID
	}
	owner, name := v.Run.owner()
	role, err := h.clients(v.Run.Installation).Permission(ctx, owner, name, p.Sender.Login)
	if err != nil {
		return outcome{}, err
	}
	if !github.AtLeast(role, h.role) {
		v.approval = &approvalNote{Refused: p.Sender.Login}
		if err := h.record(ctx, d, v, outcomeRefused, p.Sender.Login, nil); err != nil {
			return outcome{}, err
		}
		log.Warn("approval refused: the requester lacks the permission", "role", role, "needs", h.role)
		if err := h.actor.rewrite(ctx, v, log); err != nil {
			return outcome{}, err
		}
		return outcome{kind: outcomeRecorded, detail: outcomeRefused}, nil
	}
	files, ok := versionFiles(v.Input)
	if !ok {
		return skipped(log, "a file of the run could not be read: its version cannot be approved"), nil
	}
	a := store.Approval{ID: d.ID, Repository: key.Repository, WorkflowPath: v.Input.Workflow.Path, Files: files,
		Approver: p.Sender.Login, RunID: runID, DecisionID: v.ID, CreatedAt: time.Now().UTC()}
	if h.expiry > 0 {
		a.ExpiresAt = a.CreatedAt.Add(h.expiry)
	}
	for _, x := range v.Result.Enforced() {
		if !slices.Contains(a.Policies, x.Policy) {
			a.Policies = append(a.Policies, x.Policy)
		}
		a.Findings = append(a.Findings, x.Message)
	}
	saved, err := h.store.SaveApproval(ctx, a)
	if err != nil {
		return outcome{}, err
	}
	if err := h.record(ctx, d, v, outcomeApproved, p.Sender.Login, &saved); err != nil {
		return outcome{}, err
	}
	if err := h.rerun(ctx, key, d.ID, v, log); err != nil {
		return outcome{}, err
	}
	v.approval = &approvalNote{Approver: saved.Approver}
	if err := h.actor.rewrite(ctx, v, log); err != nil {
		return outcome{}, err
	}
	log.Info("workflow version approved, run re-run", "approval", saved.ID, "policies", saved.Policies)
	return outcome{kind: outcomeRecorded, detail: outcomeApproved}, nil
}

// verdict reads back the decision whose report the check run shows, with
// the document it judged; nil when the run attempt has none, or it judged
// no document (nothing to approve).
//
// That is the decision that raised the check run last, else the one that
// wrote it (Action.Shows): a dry-run report raised by a later deny shows
// the deny, its button and its findings. The store records it in the
// statement that makes the raise exclusive, rather than this guessing the
// newest denying decision of the run attempt: a later deny of the same
// level does not rewrite the report, nor does one whose update failed.
func (h approveHandler) verdict(ctx context.Context, key store.RunKey) (*verdict, error) {
	act, err := h.store.Action(ctx, key, actionCheckRun)
	if errors.Is(err, store.ErrNotFound) || (err == nil && act.Shows() == "") {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	d, err := h.store.DecisionByID(ctx, act.Shows())
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil // retention pruned it: nothing to approve
	}
	if err != nil {
		return nil, err
	}
	v, err := verdictOf(*d)
	if err != nil {
		return nil, err
	}
	if v.Input == nil {
		return nil, nil // a decision without a document judged nothing to approve
	}
	return v, nil
}

// rerun re-runs the run attempt once, whichever click of it gets there.
func (h approveHandler) rerun(ctx context.Context, key store.RunKey, deliveryID string, v *verdict, log *slog.Logger) error {
	act, err := h.store.Claim(ctx, key, actionRerun, deliveryID, 0)
	if err != nil {
		return err
	}
	if act.Done() || act.Owner != deliveryID {
		log.Info("run already re-run by another approval", "approval", act.Owner)
		return nil
	}
	owner, name := v.Run.owner()
	if err := h.clients(v.Run.Installation).RerunRun(ctx, owner, name, key.RunID); err != nil {
		return err
	}
	return h.store.Complete(ctx, key, actionRerun, deliveryID, "requested")
}

// approvalLog is an approval, a refused click or a revoke as the decision
// log keeps it, beside the decisions on runs.
type approvalLog struct {
	DecisionID string            `json:"decision_id"`
	Labels     map[string]string `json:"labels"`
	Path       string            `json:"path"`
	Timestamp  time.Time         `json:"timestamp"`
	DeliveryID string            `json:"delivery_id"`
	Event      string            `json:"event"`
	Run        *target           `json:"run,omitempty"`
	Outcome    string            `json:"outcome"`
	// By is the requester, approver or revoker; Decision the decision on
	// the run that was approved.
	By       string          `json:"by"`
	Decision string          `json:"approved_decision_id,omitempty"`
	Approval *store.Approval `json:"approval,omitempty"`
}

// approvalPath names approval events in the decision log.
const approvalPath = "runpolicy/approval"

// saveApprovalLog writes an approval event (a click, a refusal, a revoke)
// to the decision log as the decision instance records it on the run it is
// about; once per delivery id, which SaveDecision keeps unique.
func saveApprovalLog(ctx context.Context, st interface {
	SaveDecision(context.Context, store.Decision) (store.Decision, error)
}, instance string, l approvalLog, key store.RunKey) error {
	l.DecisionID, l.Labels, l.Path = uuid.NewString(), map[string]string{"app": "runpolicy", "id": instance}, approvalPath
	_, err := st.SaveDecision(ctx, store.Decision{ID: l.DecisionID, DeliveryID: l.DeliveryID, Event: l.Event,
		Repository: key.Repository, RunID: key.RunID, RunAttempt: key.Attempt, Outcome: l.Outcome, CreatedAt: l.Timestamp, Entry: l})
	return err
}

// record writes a click's event to the decision log, once per delivery.
func (h approveHandler) record(ctx context.Context, d delivery, v *verdict, outcome, by string, a *store.Approval) error {
	return saveApprovalLog(ctx, h.store, h.instance, approvalLog{Timestamp: time.Now().UTC(), DeliveryID: d.ID, Event: d.Event,
		Run: &v.Run, Outcome: outcome, By: by, Decision: v.ID, Approval: a}, v.Run.key())
}
