package input

// Facts is what a workflow file says, independent of any run. A Facts value
// is shared by every run of the same file content (callers cache it by
// SHA256), so nothing may modify it after Parse returns.
type Facts struct {
	Name         string              `json:"name"`
	Triggers     []string            `json:"triggers"`
	SHA256       string              `json:"sha256"`
	Jobs         map[string]*Job     `json:"jobs"`
	Uses         []Use               `json:"uses"`
	RunnerLabels []string            `json:"runner_labels"`
	Secrets      Secrets             `json:"secrets"`
	ParseErrors  []ParseError        `json:"parse_errors"`
	Unmodeled    []Unmodeled         `json:"unmodeled"`
	Env          map[string]string   `json:"env"`
	Defaults     Defaults            `json:"defaults"`
	Concurrency  *Concurrency        `json:"concurrency"`
	Permissions  *Permissions        `json:"permissions"`
	On           map[string]*Trigger `json:"on"`
	Expressions  []Expression        `json:"expressions"`
	Lines        WorkflowLines       `json:"lines"`

	// lazy holds the OPA values of the fields above, built once on first
	// use by Document.Value; nil for Facts not made by Parse.
	lazy *lazyValue
}

// Context is what a run says about itself: everything in the document that
// does not come from the workflow file.
type Context struct {
	Event        Event
	Repository   Repository
	Run          Run
	WorkflowPath string
	// WorkflowName is the workflow's name as GitHub shows it (its name:
	// key, else its file), "" when the event names none; for reports, the
	// document does not carry it (its workflow.name is the file's own).
	WorkflowName string
	// RunURL is the run's page on GitHub (html_url), for reports; the
	// document does not carry it.
	RunURL string
	// DefaultBranchSHA256 is the digest of the workflow on the default branch.
	// It is consulted only when DefaultBranchKnown is true; nil then means the
	// file does not exist there.
	DefaultBranchSHA256 *string
	DefaultBranchKnown  bool
	WorkflowJob         *WorkflowJob
	// ReferencedWorkflows maps each reusable workflow the run called, as
	// ReferencedWorkflowKey names it, to the commit GitHub ran it at (the
	// workflow_run payload's referenced_workflows). The resolver reads
	// those commits rather than where the tags point now.
	ReferencedWorkflows map[string]string
}

// Build joins a workflow's facts with a run's context. It shares the facts'
// maps and slices with the result; callers that extend the document (the
// resolver) must copy what they change.
func Build(f *Facts, c Context) *Document {
	d := &Document{
		SchemaVersion: SchemaVersion,
		Event:         c.Event,
		Repository:    c.Repository,
		Run:           c.Run,
		Workflow: Workflow{
			Path:        c.WorkflowPath,
			Name:        f.Name,
			Triggers:    f.Triggers,
			SHA256:      f.SHA256,
			ParseErrors: f.ParseErrors,
			Unmodeled:   f.Unmodeled,
			Env:         f.Env,
			Defaults:    f.Defaults,
			Concurrency: f.Concurrency,
			Permissions: f.Permissions,
			On:          f.On,
			Expressions: f.Expressions,
			Lines:       f.Lines,
		},
		Jobs:         f.Jobs,
		Uses:         f.Uses,
		RunnerLabels: f.RunnerLabels,
		Secrets:      f.Secrets,
		WorkflowJob:  c.WorkflowJob,
		facts:        f,
		referenced:   c.ReferencedWorkflows,
	}
	if d.Workflow.Unmodeled == nil {
		d.Workflow.Unmodeled = []Unmodeled{}
	}
	if d.Run.PullRequests == nil {
		d.Run.PullRequests = []int{}
	}
	d.Workflow.ModifiedFiles = []ModifiedFile{}
	head := f.SHA256
	self := ModifiedFile{Path: c.WorkflowPath, SHA256: &head}
	switch {
	case c.DefaultBranchKnown:
		d.Workflow.DefaultBranchSHA256 = c.DefaultBranchSHA256
		switch {
		case c.DefaultBranchSHA256 == nil:
			self.Change = ChangeNew
		case *c.DefaultBranchSHA256 != f.SHA256:
			self.Change = ChangeDiffers
		}
	case c.Run.IsDefaultBranch:
		// On the default branch the file is its own default-branch copy.
		sum := f.SHA256
		d.Workflow.DefaultBranchSHA256 = &sum
	default:
		// Unknown copy on another branch: count it as modified, never as vetted.
		self.Change, self.Reason = ChangeUnknown, "the default branch's copy was not given"
	}
	if self.Change != "" {
		d.Workflow.Modified = true
		d.Workflow.ModifiedFiles = []ModifiedFile{self}
	}
	return d
}

// LocalContext is the run context of the command line without --event: a
// push of the file to the default branch of a local repository.
func LocalContext(path string) Context {
	return Context{
		Event:        Event{Name: "local"},
		Repository:   Repository{FullName: "local/local", Owner: "local", Name: "local", DefaultBranch: "main", Visibility: "private"},
		Run:          Run{Event: "push", Branch: "main", IsDefaultBranch: true, Attempt: 1, PullRequests: []int{}},
		WorkflowPath: path,
	}
}
