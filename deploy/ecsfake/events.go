package ecsfake

import (
	"fmt"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
)

// EventsTargetPrefix is the X-Amz-Target prefix of EventBridge operations.
const EventsTargetPrefix = "AWSEvents."

// Events is an in-memory Amazon EventBridge holding rules and their
// targets: awsJson1_1, X-Amz-Target AWSEvents.<Op>, PascalCase members.
// It serves ListRuleNamesByTarget, ListTargetsByRule and PutTargets, in
// pages of PageSize (so callers must follow NextToken), and, like the real
// service, its reads are eventually consistent: after a PutTargets,
// ListTargetsByRule returns the old targets for the next Lag calls.
type Events struct {
	*modelled
	// PageSize bounds every list response (default 2).
	PageSize int
	// Lag is the number of reads after a write that still see the old
	// targets.
	Lag int

	rules map[string]*rule // bus/name
	buses map[string]bool
	// failEntries: PutTargets answers its entries with FailedEntries of
	// this code, for failFor from its first call (EventBridge writes
	// each target on its own; a busy rule fails some).
	failEntries   string
	failFor       time.Duration
	failUntil     time.Time
	failedEntries int
}

type rule struct {
	bus, name string
	targets   []types.Target
	stale     []types.Target
	staleFor  int
	puts      []eventbridge.PutTargetsInput
}

// NewEvents starts an EventBridge fake with no rules. Close it when done.
func NewEvents() *Events {
	e := &Events{PageSize: 2, rules: map[string]*rule{}, buses: map[string]bool{"default": true}}
	e.modelled = newModelled("events", "", e.serveHTTP)
	e.start()
	return e
}

// AddRule creates a rule on bus ("" is default) with targets.
func (e *Events) AddRule(bus, name string, targets ...types.Target) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if bus == "" {
		bus = "default"
	}
	e.rules[bus+"/"+name] = &rule{bus: bus, name: name, targets: targets}
	e.buses[bus] = true
}

// AddBus creates an event bus with no rules.
func (e *Events) AddBus(name string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.buses[name] = true
}

// Edit changes a target of a rule as another client (the console, a
// colleague's script) would, while the deploy runs: reads see the change
// at once.
func (e *Events) Edit(bus, name, id string, change func(*types.Target)) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if bus == "" {
		bus = "default"
	}
	r := e.rules[bus+"/"+name]
	for i := range r.targets {
		if aws.ToString(r.targets[i].Id) == id {
			change(&r.targets[i])
		}
	}
	r.staleFor = 0
}

// FailEntriesFor makes PutTargets accept the call but fail each of its
// entries with code (ConcurrentModificationException, InternalException,
// ValidationException, ...) in FailedEntries, for d of real time from its
// first call from now on.
func (e *Events) FailEntriesFor(code string, d time.Duration) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.failEntries, e.failFor, e.failUntil = code, d, time.Time{}
}

// FailedEntries is how many entries FailEntriesFor failed.
func (e *Events) FailedEntries() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.failedEntries
}

// Targets returns a rule's current targets (not the stale view).
func (e *Events) Targets(bus, name string) []types.Target {
	e.mu.Lock()
	defer e.mu.Unlock()
	if bus == "" {
		bus = "default"
	}
	r := e.rules[bus+"/"+name]
	if r == nil {
		return nil
	}
	return append([]types.Target(nil), r.targets...)
}

// RuleARN is the ARN of a rule.
func RuleARN(bus, name string) string {
	if bus == "" || bus == "default" {
		return fmt.Sprintf("arn:aws:events:%s:%s:rule/%s", Region, Account, name)
	}
	return fmt.Sprintf("arn:aws:events:%s:%s:rule/%s/%s", Region, Account, bus, name)
}

// rule finds a rule named by a request (a nil bus is the default one).
func (e *Events) rule(bus, name *string) (*rule, *apiError) {
	b := busName(aws.ToString(bus))
	if r := e.rules[b+"/"+aws.ToString(name)]; r != nil {
		return r, nil
	}
	return nil, &apiError{400, "ResourceNotFoundException", fmt.Sprintf("Rule %s does not exist on EventBus %s.", aws.ToString(name), b)}
}

func (e *Events) serveHTTP(w http.ResponseWriter, r *http.Request) {
	op, ok := strings.CutPrefix(r.Header.Get("X-Amz-Target"), EventsTargetPrefix)
	body, read := readBody(r)
	if !read {
		return // the client gave up while sending: nothing reached the service
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	switch {
	case r.Method != http.MethodPost || !ok:
		e.fail(w, &apiError{400, "UnknownOperationException", "no such operation " + r.Header.Get("X-Amz-Target")})
		return
	case r.Header.Get("Content-Type") != "application/x-amz-json-1.1":
		e.fail(w, &apiError{400, "SerializationException", "content type must be application/x-amz-json-1.1"})
		return
	}
	if aerr := e.begin(r, op, body, nil); aerr != nil {
		e.fail(w, aerr)
		return
	}
	out, aerr := e.dispatch(op, body)
	if aerr != nil {
		e.fail(w, aerr)
		return
	}
	e.reply(w, op, out, true)
}

func busName(ref string) string {
	if ref == "" {
		return "default"
	}
	if i := strings.LastIndex(ref, "/"); i >= 0 {
		return ref[i+1:]
	}
	return ref
}

// page cuts items at NextToken (an index) to at most limit or PageSize.
func page[T any](items []T, token *string, limit *int32, size int) ([]T, *string) {
	start := 0
	if token != nil {
		fmt.Sscanf(*token, "tok-%d", &start)
	}
	if limit != nil && int(*limit) < size {
		size = int(*limit)
	}
	end := min(start+size, len(items))
	var out []T
	if start < end {
		out = items[start:end]
	}
	if end < len(items) {
		return out, aws.String(fmt.Sprintf("tok-%d", end))
	}
	return out, nil
}

func (e *Events) dispatch(op string, body []byte) (any, *apiError) {
	switch op {
	case "ListEventBuses":
		in, err := decodeInput[eventbridge.ListEventBusesInput](e.model, op, body)
		if err != nil {
			return nil, err
		}
		var names []string
		for name := range e.buses {
			names = append(names, name)
		}
		sort.Strings(names)
		var buses []types.EventBus
		for _, name := range names {
			if strings.HasPrefix(name, aws.ToString(in.NamePrefix)) {
				arn := fmt.Sprintf("arn:aws:events:%s:%s:event-bus/%s", Region, Account, name)
				buses = append(buses, types.EventBus{Name: aws.String(name), Arn: aws.String(arn)})
			}
		}
		out := eventbridge.ListEventBusesOutput{}
		out.EventBuses, out.NextToken = page(buses, in.NextToken, in.Limit, e.PageSize)
		return out, nil
	case "ListRuleNamesByTarget":
		in, err := decodeInput[eventbridge.ListRuleNamesByTargetInput](e.model, op, body)
		if err != nil {
			return nil, err
		}
		bus := busName(aws.ToString(in.EventBusName))
		var names []string
		for _, r := range e.rules {
			if r.bus != bus {
				continue
			}
			for _, t := range r.view() {
				if aws.ToString(t.Arn) == aws.ToString(in.TargetArn) {
					names = append(names, r.name)
					break
				}
			}
		}
		sort.Strings(names)
		out := eventbridge.ListRuleNamesByTargetOutput{}
		out.RuleNames, out.NextToken = page(names, in.NextToken, in.Limit, e.PageSize)
		return out, nil
	case "ListTargetsByRule":
		in, err := decodeInput[eventbridge.ListTargetsByRuleInput](e.model, op, body)
		if err != nil {
			return nil, err
		}
		r, err := e.rule(in.EventBusName, in.Rule)
		if err != nil {
			return nil, err
		}
		out := eventbridge.ListTargetsByRuleOutput{}
		out.Targets, out.NextToken = page(r.view(), in.NextToken, in.Limit, e.PageSize)
		return out, nil
	case "PutTargets":
		in, err := decodeInput[eventbridge.PutTargetsInput](e.model, op, body)
		if err != nil {
			return nil, err
		}
		r, err := e.rule(in.EventBusName, in.Rule)
		if err != nil {
			return nil, err
		}
		r.puts = append(r.puts, *in)
		r.stale, r.staleFor = append([]types.Target(nil), r.targets...), e.Lag
		out := eventbridge.PutTargetsOutput{}
		failing := false
		if e.failEntries != "" {
			now := time.Now()
			if e.failUntil.IsZero() {
				e.failUntil = now.Add(e.failFor)
			}
			failing = now.Before(e.failUntil)
		}
		for _, t := range in.Targets {
			if failing {
				e.failedEntries++
				out.FailedEntryCount++
				out.FailedEntries = append(out.FailedEntries, types.PutTargetsResultEntry{TargetId: t.Id,
					ErrorCode: aws.String(e.failEntries), ErrorMessage: aws.String("Try again (fake)")})
				continue
			}
			if t.EcsParameters != nil && !strings.Contains(aws.ToString(t.EcsParameters.TaskDefinitionArn), ":task-definition/") {
				out.FailedEntryCount++
				out.FailedEntries = append(out.FailedEntries, types.PutTargetsResultEntry{TargetId: t.Id,
					ErrorCode: aws.String("ValidationException"), ErrorMessage: aws.String("TaskDefinitionArn is not a task definition ARN")})
				continue
			}
			replaced := false
			for i := range r.targets {
				if aws.ToString(r.targets[i].Id) == aws.ToString(t.Id) {
					r.targets[i], replaced = t, true
				}
			}
			if !replaced {
				r.targets = append(r.targets, t)
			}
		}
		return out, nil
	}
	return nil, &apiError{400, "UnknownOperationException", "the fake does not implement " + op}
}

// view is what a read sees: the old targets while a write propagates.
func (r *rule) view() []types.Target {
	if r.staleFor > 0 {
		r.staleFor--
		return r.stale
	}
	return r.targets
}

// Settle lets every write propagate: reads see the current targets.
func (e *Events) Settle() {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, r := range e.rules {
		r.staleFor = 0
	}
}

// Puts returns the PutTargets requests a rule received.
func (e *Events) Puts(bus, name string) []eventbridge.PutTargetsInput {
	e.mu.Lock()
	defer e.mu.Unlock()
	if bus == "" {
		bus = "default"
	}
	if r := e.rules[bus+"/"+name]; r != nil {
		return append([]eventbridge.PutTargetsInput(nil), r.puts...)
	}
	return nil
}
