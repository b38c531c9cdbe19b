// Package input turns a GitHub Actions workflow file and the context of a run
// into the input document that runpolicy's Rego policies judge.
//
// The document has two halves. Facts are what the workflow file says; they
// depend only on its bytes, so callers cache them by content hash. Context is
// what the run says (repository, branch, actor, …); it comes from a webhook
// payload or from the command line. Build joins the two.
package input

// SchemaVersion is the version of the input document this package produces.
const SchemaVersion = 1

// Document is the input document of schema_version 1, described field by
// field in policies/schemas/input.json and policies/README.md.
// Every slice is non-nil so that it encodes as [] and Rego can iterate it.
type Document struct {
	SchemaVersion int             `json:"schema_version"`
	Event         Event           `json:"event"`
	Repository    Repository      `json:"repository"`
	Run           Run             `json:"run"`
	Workflow      Workflow        `json:"workflow"`
	Jobs          map[string]*Job `json:"jobs"`
	// Uses lists every action, reusable workflow and docker image reference
	// (docker:// steps, job containers, services) in document order, direct
	// ones first and transitive ones (Via non-empty) after.
	Uses []Use `json:"uses"`
	// RunnerLabels are every label a job can run on, sorted and distinct:
	// those written without an expression and those of every candidate.
	RunnerLabels []string     `json:"runner_labels"`
	Secrets      Secrets      `json:"secrets"`
	WorkflowJob  *WorkflowJob `json:"workflow_job"`
	// Resolution reports how far transitive references were followed; nil
	// when no resolver ran (the command line without --resolve).
	Resolution *Resolution `json:"resolution"`
	// Approvals are the approvals of this version of the workflow
	// (approvals.go); the key is left out when there are none.
	Approvals []Approval `json:"approvals,omitempty"`

	// facts are the Facts the document was built from; Value reuses their
	// precomputed OPA values for every part the caller left shared.
	facts *Facts
	// referenced is Context.ReferencedWorkflows, for the resolver; it is
	// not part of the input document.
	referenced map[string]string
}

// ReferencedWorkflowSHA returns the commit GitHub ran the reusable workflow
// at path in owner/repo at, when the run called it at ref.
func (d *Document) ReferencedWorkflowSHA(owner, repo, path, ref string) (string, bool) {
	sha, ok := d.referenced[ReferencedWorkflowKey(owner, repo, path, ref)]
	return sha, ok
}

// Event names the webhook that caused the evaluation; Name is "local" on the command line.
type Event struct {
	Name       string `json:"name"`
	Action     string `json:"action"`
	DeliveryID string `json:"delivery_id"`
}

// Repository is the repository the workflow runs in.
type Repository struct {
	FullName      string `json:"full_name"`
	Owner         string `json:"owner"`
	Name          string `json:"name"`
	DefaultBranch string `json:"default_branch"`
	Visibility    string `json:"visibility"`
	Fork          bool   `json:"fork"`
}

// Run is the workflow run being judged.
type Run struct {
	ID              int64  `json:"id"`
	Attempt         int    `json:"attempt"`
	Number          int    `json:"number"`
	Event           string `json:"event"`
	Branch          string `json:"branch"`
	HeadSHA         string `json:"head_sha"`
	IsDefaultBranch bool   `json:"is_default_branch"`
	Actor           string `json:"actor"`
	TriggeringActor string `json:"triggering_actor"`
	HeadRepository  string `json:"head_repository"`
	FromFork        bool   `json:"from_fork"`
	PullRequests    []int  `json:"pull_requests"`
}

// Workflow describes the workflow file itself.
type Workflow struct {
	Path     string   `json:"path"`
	Name     string   `json:"name"`
	Triggers []string `json:"triggers"`
	// SHA256 is the hex digest of the file at the run's head commit.
	SHA256 string `json:"sha256"`
	// DefaultBranchSHA256 is the digest of the same path on the default
	// branch, nil when the file does not exist there.
	DefaultBranchSHA256 *string `json:"default_branch_sha256"`
	// Modified is true when the file, or a file of the repository it runs
	// through a local reference (./ or $/, directly or transitively), differs
	// from the default branch's copy, is new, or could not be compared.
	Modified bool `json:"modified"`
	// ModifiedFiles names each such file: the workflow itself first (Uses
	// empty), then the local actions and reusable workflows it runs, in the
	// order the resolver reached them. Empty when Modified is false.
	ModifiedFiles []ModifiedFile `json:"modified_files"`
	// ParseErrors are the syntax errors actionlint reported; the rest of the
	// document is filled from the partial tree it still produced.
	ParseErrors []ParseError `json:"parse_errors"`
	// Unmodeled lists the shapes of the file runpolicy cannot model: a step
	// that runs neither an action, a script nor a known control, a
	// parallel: that is not a list, unknown keys that hold steps, a ref
	// after a $/ reference. What can be read inside them is judged all the
	// same.
	Unmodeled []Unmodeled `json:"unmodeled"`
	// Env is the workflow's env: as written; {} when absent or written as
	// an expression (which Unmodeled then reports).
	Env      map[string]string `json:"env"`
	Defaults Defaults          `json:"defaults"`
	// Concurrency is nil when the workflow has no concurrency:.
	Concurrency *Concurrency `json:"concurrency"`
	// Permissions are the workflow's permissions: as written, nil when
	// absent. Job.Permissions has what each job's token gets.
	Permissions *Permissions `json:"permissions"`
	// On has one entry per trigger (the names of Triggers) with its filters.
	On map[string]*Trigger `json:"on"`
	// Expressions are the ${{ }} of the workflow's own keys (name,
	// run-name, on, env, defaults, concurrency), in file order.
	Expressions []Expression `json:"expressions"`
	// Lines are the lines of env and defaults (see Lines).
	Lines WorkflowLines `json:"lines"`
}

// The lines of the facts that are a scalar, a list or a string map, which
// have no line field of their own. For a scalar (if, timeout-minutes, an
// env: written as one expression) it is the line of the value, which is
// the key's unless the value starts on a line below; for a list or a
// mapping (needs, env, outputs, with, secrets) that of its first entry, as
// actionlint's tree keeps no line for the key; for defaults that of the
// defaults: key. A fact absent from the file, or an empty list or mapping,
// has no line: its key is left out, so that a policy falls back on the
// object's own line with object.get(x.lines, "env", x.line). Text an alias
// repeats is on the line of its anchor, as for expressions.

// WorkflowLines are the lines of a workflow's env and defaults.
type WorkflowLines struct {
	Env      int `json:"env,omitempty"`
	Defaults int `json:"defaults,omitempty"`
}

// JobLines are the lines of a job's facts.
type JobLines struct {
	If             int `json:"if,omitempty"`
	Env            int `json:"env,omitempty"`
	Needs          int `json:"needs,omitempty"`
	Outputs        int `json:"outputs,omitempty"`
	TimeoutMinutes int `json:"timeout_minutes,omitempty"`
	With           int `json:"with,omitempty"`
	SecretsMap     int `json:"secrets_map,omitempty"`
}

// StepLines are the lines of a step's facts.
type StepLines struct {
	If   int `json:"if,omitempty"`
	Env  int `json:"env,omitempty"`
	With int `json:"with,omitempty"`
}

// Defaults are the defaults.run of a workflow.
type Defaults struct {
	Shell            *string `json:"shell"`
	WorkingDirectory *string `json:"working_directory"`
}

// Concurrency is a concurrency: of a workflow or job. The form
// `concurrency: group` has CancelInProgress false.
type Concurrency struct {
	Group string `json:"group"`
	// CancelInProgress is a bool, or the expression text when an
	// expression decides it.
	CancelInProgress any `json:"cancel_in_progress" union:"boolean,string"`
	Line             int `json:"line"`
}

// Permissions are a permissions: key as written: Scopes lists the scopes
// it names (empty for read-all, write-all and {}), All is read-all or
// write-all. A value GitHub does not document is read as the most it could
// grant (write, write-all) and reported in Workflow.Unmodeled.
type Permissions struct {
	Scopes map[string]string `json:"scopes"`
	All    *string           `json:"all"`
	Line   int               `json:"line"`
}

// Sources of JobPermissions.
const (
	PermissionsJob      = "job"      // the job's own permissions:
	PermissionsWorkflow = "workflow" // the workflow's, which the job has none to replace
	PermissionsDefault  = "default"  // neither: the repository's or organization's default
)

// Permission levels and the two all-scope values.
const (
	PermissionRead     = "read"
	PermissionWrite    = "write"
	PermissionNone     = "none"
	PermissionReadAll  = "read-all"
	PermissionWriteAll = "write-all"
)

// JobPermissions are the permissions of a job's GITHUB_TOKEN as GitHub
// computes them from the file: the job's permissions: replaces the
// workflow's entirely, every scope a mapping does not name is none, and
// read-all and write-all give every scope that level. Scopes lists every
// scope GitHub documents (PermissionScopes); it and Line are nil when
// Source is "default": the repository's or organization's setting applies,
// which the file does not show.
type JobPermissions struct {
	Source string            `json:"source"`
	Scopes map[string]string `json:"scopes" nullable:"true"`
	All    *string           `json:"all"`
	Line   *int              `json:"line"`
}

// Trigger is one event of on: with its filters, [] where absent.
type Trigger struct {
	Types          []string `json:"types"`
	Branches       []string `json:"branches"`
	BranchesIgnore []string `json:"branches_ignore"`
	Tags           []string `json:"tags"`
	TagsIgnore     []string `json:"tags_ignore"`
	Paths          []string `json:"paths"`
	PathsIgnore    []string `json:"paths_ignore"`
	Workflows      []string `json:"workflows"`
	Line           int      `json:"line"`
}

// Unmodeled is one shape of the workflow runpolicy cannot model.
type Unmodeled struct {
	Job string `json:"job"`
	// Step is the step's index, nil for a job-level shape.
	Step    *int   `json:"step"`
	Line    int    `json:"line"`
	Message string `json:"message"`
}

// Changes of a ModifiedFile.
const (
	// ChangeDiffers: the default branch has another version of the file.
	ChangeDiffers = "differs"
	// ChangeNew: the default branch has no such file.
	ChangeNew = "new"
	// ChangeUnknown: the file could not be compared (unreadable, a limit, no
	// default-branch copy to compare with); it counts as modified.
	ChangeUnknown = "unknown"
)

// ModifiedFile is a file the run executes whose copy at the head commit is
// not the default branch's.
type ModifiedFile struct {
	// Path is the file's path in the repository (for an action, its
	// action.yml or action.yaml).
	Path string `json:"path"`
	// Uses is the local reference that runs the file, as written; empty for
	// the workflow file itself.
	Uses   string `json:"uses"`
	Change string `json:"change"`
	// Reason says why an unknown file could not be compared.
	Reason string `json:"reason"`
	// SHA256 is the digest of the file at the head commit, nil when it could
	// not be read.
	SHA256 *string `json:"sha256"`
}

// ParseError is one error reported by the workflow parser.
type ParseError struct {
	Line    int    `json:"line"`
	Column  int    `json:"column"`
	Message string `json:"message"`
}

// Job is one entry of the workflow's jobs map.
type Job struct {
	Name   string `json:"name"`
	Line   int    `json:"line"`
	RunsOn RunsOn `json:"runs_on"`
	// Container is the image when the whole job runs in a container, as
	// written; Uses lists it as a docker reference (source "container").
	Container *string `json:"container"`
	// ContainerDynamic is true when an expression decides the container
	// image at run time and the file does not list its values.
	ContainerDynamic bool `json:"container_dynamic"`
	// Services are the job's service containers by name; Uses lists their
	// images as docker references (source "service").
	Services map[string]*Service `json:"services"`
	// Uses is set when the job calls a reusable workflow.
	Uses           *Use         `json:"uses"`
	SecretsInherit bool         `json:"secrets_inherit"`
	Secrets        []string     `json:"secrets"`
	HardenRunner   HardenRunner `json:"harden_runner"`
	Steps          []Step       `json:"steps"`
	// If is the job's if: condition as written, nil when absent.
	If *string `json:"if"`
	// Env is the job's env: as written ({} when absent or an expression).
	Env         map[string]string `json:"env"`
	Environment *Environment      `json:"environment"`
	Concurrency *Concurrency      `json:"concurrency"`
	// Needs are the job ids of needs:, a single id as a one-item list.
	Needs []string `json:"needs"`
	// Outputs are the job's outputs: as written (expression text).
	Outputs map[string]string `json:"outputs"`
	// TimeoutMinutes is a number, the expression text, or nil when absent.
	TimeoutMinutes any            `json:"timeout_minutes" union:"number,string,null"`
	Permissions    JobPermissions `json:"permissions"`
	// With and SecretsMap are the with: inputs and the secrets: mapping of
	// a reusable workflow call as written; {} for other jobs and for
	// secrets: inherit (SecretsInherit).
	With       map[string]string `json:"with"`
	SecretsMap map[string]string `json:"secrets_map"`
	// Expressions are the ${{ }} of the job's own keys (not its steps'),
	// in file order.
	Expressions []Expression `json:"expressions"`
	Lines       JobLines     `json:"lines"`
}

// Environment is a job's environment:.
type Environment struct {
	Name string  `json:"name"`
	URL  *string `json:"url"`
	Line int     `json:"line"`
}

// RunsOn is a job's runs-on, normalized from every form GitHub accepts.
type RunsOn struct {
	Labels []string `json:"labels"`
	Group  *string  `json:"group"`
	// Dynamic is true when an expression decides the labels or group at run
	// time; Expression keeps the raw text of a whole-value expression.
	Dynamic    bool    `json:"dynamic"`
	Expression *string `json:"expression"`
	// Candidates are the runners the job can run on: runs-on as written,
	// or one per distinct value of the matrix values it reads when the
	// file lists them all. Empty when an expression decides the runner at
	// run time (Dynamic) or the job names none (a reusable workflow call).
	Candidates []Runner `json:"candidates"`
}

// Runner is one runner a job can run on.
type Runner struct {
	Labels []string `json:"labels"`
	Group  *string  `json:"group"`
}

// Service is one of a job's service containers.
type Service struct {
	// Image is the image as written, expressions kept.
	Image string `json:"image"`
	Line  int    `json:"line"`
	// Dynamic is true when an expression decides the image at run time
	// and the file does not list its values.
	Dynamic bool `json:"dynamic"`
}

// HardenRunner says whether and how a job runs step-security/harden-runner.
type HardenRunner struct {
	Present        bool    `json:"present"`
	FirstStep      bool    `json:"first_step"`
	Step           *int    `json:"step"`
	EgressPolicy   *string `json:"egress_policy"`
	UsePolicyStore bool    `json:"use_policy_store"`
}

// Step is one step of a job.
type Step struct {
	Index int    `json:"index"`
	ID    string `json:"id"`
	Name  string `json:"name"`
	Line  int    `json:"line"`
	Uses  *Use   `json:"uses"`
	Run   bool   `json:"run"`
	// With holds the action's inputs as written (expressions kept raw), so
	// a policy can see e.g. which ref actions/checkout is told to fetch.
	With map[string]string `json:"with"`
	// Control is what a step without uses or run does (GitHub, June 2026):
	// "parallel" for a block whose steps follow it, "wait", "wait-all" or
	// "cancel"; empty for any other step.
	Control string `json:"control"`
	// ParallelGroup is the index of the parallel block the step runs in,
	// nil outside one. Steps are numbered flat in file order, a block
	// before the steps it runs.
	ParallelGroup *int `json:"parallel_group"`
	// Background is true for a step with background: true, which the
	// steps after it do not wait for.
	Background bool `json:"background"`
	// Targets are the step ids a wait: or cancel: names.
	Targets []string `json:"targets"`
	// Script is the run: of a run step, nil for any other step.
	Script *Script `json:"script"`
	// If is the step's if: condition as written, nil when absent.
	If *string `json:"if"`
	// Env is the step's env: as written ({} when absent or an expression).
	Env map[string]string `json:"env"`
	// Expressions are the ${{ }} of the step, in file order.
	Expressions []Expression `json:"expressions"`
	Lines       StepLines    `json:"lines"`
}

// Script is what a run step runs.
type Script struct {
	// Text is the script as written, ${{ }} kept, cut to MaxScriptSize
	// bytes on a rune boundary; Truncated says it was cut.
	Text      string `json:"text"`
	Truncated bool   `json:"truncated"`
	// Shell and WorkingDirectory are the step's, else the job's
	// defaults.run, else the workflow's; nil when none is written.
	Shell            *string `json:"shell"`
	WorkingDirectory *string `json:"working_directory"`
	// Line is the line of run:.
	Line int `json:"line"`
}

// Expression is one ${{ }} expression of a step, a job or the workflow;
// an if: is one expression even without ${{ }}, as GitHub reads it.
type Expression struct {
	// Field is the key the expression is written under: run, if,
	// with.<input>, env.<NAME>, or for a job outputs.<name>,
	// secrets.<name>, and the job key for the others (runs-on, container,
	// services.<name>, environment, concurrency, strategy, …); for the
	// workflow env.<NAME>, or its key (name, run-name, on, env, defaults,
	// concurrency).
	Field string `json:"field"`
	// Text is the expression inside ${{ }}, trimmed.
	Text string `json:"text"`
	// Contexts are the property paths the expression reads, in lower case
	// and dotted (github['head_ref'] is github.head_ref): * stands for a
	// filter (labels.*.name) and for an index that is not a string
	// (commits[0], event[inputs.key]). A function's result is no context;
	// its arguments are (fromJSON(steps.a.outputs.b) reads
	// steps.a.outputs.b).
	Contexts []string `json:"contexts"`
	Line     int      `json:"line"`
}

// Sources of Use: where the workflow names the reference.
const (
	SourceStep      = "step"      // a step's uses
	SourceJob       = "job"       // jobs.<id>.uses, a reusable workflow call
	SourceContainer = "container" // jobs.<id>.container image
	SourceService   = "service"   // jobs.<id>.services.<name>.image
)

// Kinds of Use.
const (
	KindAction           = "action"
	KindReusableWorkflow = "reusable_workflow"
	KindDocker           = "docker"
	KindLocal            = "local"
)

// Ref types of Use.
const (
	RefSHA         = "sha"
	RefTagOrBranch = "tag_or_branch"
	RefNone        = "none"
)

// Use is one reference to an action, a reusable workflow or a docker image.
type Use struct {
	Raw   string `json:"raw"`
	Kind  string `json:"kind"`
	Name  string `json:"name"`
	Owner string `json:"owner"`
	Repo  string `json:"repo"`
	Path  string `json:"path"`
	// Names are the names allow and block lists can know this reference
	// by, in lower case as GitHub compares them, most specific first: its
	// full name, its repository and owner/* for an action or reusable
	// workflow; the image with and without its tag or digest for docker
	// ("docker://alpine:3", "docker://alpine"); none for a local path.
	// Policies look them up instead of lower-casing and joining per rule.
	Names   []string `json:"names"`
	Ref     string   `json:"ref"`
	RefType string   `json:"ref_type"`
	// Pinned is true when Ref is a full 40-hex commit SHA (or a docker digest).
	Pinned      bool    `json:"pinned"`
	ResolvedSHA *string `json:"resolved_sha"`
	Job         string  `json:"job"`
	// Step is the step index, nil for a job-level reference (a reusable
	// workflow call, a container or service image).
	Step *int `json:"step"`
	Line int  `json:"line"`
	// Source says where the workflow names the reference: step, job,
	// container or service.
	Source string `json:"source"`
	// Via is the chain of references (raw strings) that led here; empty when direct.
	Via []string `json:"via"`
	// Unresolved says why the resolver could not look inside this reference
	// (private repository, deleted tag, limit reached); empty otherwise.
	Unresolved string `json:"unresolved,omitempty"`
	// Impostor is set by the resolver for a reference pinned to a commit
	// SHA of another repository: true when the commit is on no branch and
	// no tag of the named repository (it comes from a fork, which GitHub
	// serves under the parent's name), false when one of them contains it;
	// nil when not checked or the check could not finish.
	Impostor *bool `json:"impostor,omitempty"`
	// ImpostorUnverified says why the check could not finish (call cap,
	// private repository, GitHub error); empty otherwise.
	ImpostorUnverified string `json:"impostor_unverified,omitempty"`
}

// Secrets summarizes every reference to the secrets context.
type Secrets struct {
	Names []string `json:"names"`
	// Bulk is true when the workflow reads secrets it does not name:
	// toJSON(secrets), secrets[expr] or secrets: inherit.
	Bulk    bool        `json:"bulk"`
	Inherit bool        `json:"inherit"`
	Refs    []SecretRef `json:"refs"`
}

// Contexts a secret reference can appear in.
const (
	CtxEnv         = "env"
	CtxWith        = "with"
	CtxRun         = "run"
	CtxIf          = "if"
	CtxSecrets     = "secrets"     // passed to a reusable workflow
	CtxCredentials = "credentials" // container or service registry credentials
	CtxOther       = "other"
)

// SecretRef is one place the workflow reads a secret. Name is as the author
// wrote it; it is empty for a bulk reference.
type SecretRef struct {
	Name    string `json:"name"`
	Bulk    bool   `json:"bulk"`
	Job     string `json:"job"`
	Step    *int   `json:"step"`
	Context string `json:"context"`
	Line    int    `json:"line"`
}

// WorkflowJob is the job of a workflow_job event, with the labels GitHub resolved.
type WorkflowJob struct {
	ID              int64    `json:"id"`
	Name            string   `json:"name"`
	Labels          []string `json:"labels"`
	RunnerName      string   `json:"runner_name"`
	RunnerGroupName string   `json:"runner_group_name"`
	Status          string   `json:"status"`
}

// Resolution reports the resolver's work on transitive references.
type Resolution struct {
	Complete bool `json:"complete"`
	Fetches  int  `json:"fetches"`
	// Limits names each limit that was hit (depth, references, fetches, cycle).
	Limits []string `json:"limits"`
}
