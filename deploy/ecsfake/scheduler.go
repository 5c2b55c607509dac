package ecsfake

import (
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/scheduler"
	"github.com/aws/aws-sdk-go-v2/service/scheduler/types"
)

// Scheduler is an in-memory Amazon EventBridge Scheduler: REST-JSON
// (GET /schedules, GET and PUT /schedules/{Name}), PascalCase members,
// errors in the X-Amzn-ErrorType header. ListSchedules answers in pages of
// PageSize and, like the real service, lags behind writes: after an
// UpdateSchedule the schedule's summary keeps its old target for the next
// Lag list calls. UpdateSchedule replaces the whole schedule, so a member
// the caller leaves out is gone, as it is on AWS.
type Scheduler struct {
	*modelled
	PageSize int
	Lag      int
	// Reject makes every UpdateSchedule fail with ValidationException.
	Reject bool

	schedules map[string]*schedule // group/name
	clock     time.Time
}

type schedule struct {
	s        scheduler.GetScheduleOutput
	stale    *types.Target
	staleFor int
	updates  []scheduler.UpdateScheduleInput
}

// NewScheduler starts a Scheduler fake with no schedules.
func NewScheduler() *Scheduler {
	s := &Scheduler{PageSize: 2, schedules: map[string]*schedule{}, clock: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	s.modelled = newModelled("scheduler", "", s.serveHTTP)
	s.start()
	return s
}

// AddSchedule creates a schedule; GroupName "" is "default". Arn and the
// dates are filled in.
func (s *Scheduler) AddSchedule(in scheduler.GetScheduleOutput) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if aws.ToString(in.GroupName) == "" {
		in.GroupName = aws.String("default")
	}
	in.Arn = aws.String(fmt.Sprintf("arn:aws:scheduler:%s:%s:schedule/%s/%s", Region, Account, *in.GroupName, aws.ToString(in.Name)))
	now := s.clock
	in.CreationDate, in.LastModificationDate = &now, &now
	s.schedules[*in.GroupName+"/"+aws.ToString(in.Name)] = &schedule{s: in}
}

// Schedule returns a schedule as GetSchedule would.
func (s *Scheduler) Schedule(group, name string) (scheduler.GetScheduleOutput, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sc := s.schedules[group+"/"+name]
	if sc == nil {
		return scheduler.GetScheduleOutput{}, false
	}
	return sc.s, true
}

// Edit changes a schedule as another client would while the deploy runs
// (disables it, changes its expression...): GetSchedule sees the change at
// once.
func (s *Scheduler) Edit(group, name string, change func(*scheduler.GetScheduleOutput)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sc := s.schedules[group+"/"+name]
	change(&sc.s)
	s.clock = s.clock.Add(time.Second)
	now := s.clock
	sc.s.LastModificationDate = &now
}

// Settle lets every write propagate: listings show the current targets.
func (s *Scheduler) Settle() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, sc := range s.schedules {
		sc.staleFor = 0
	}
}

// Updates returns the UpdateSchedule requests a schedule received.
func (s *Scheduler) Updates(group, name string) []scheduler.UpdateScheduleInput {
	s.mu.Lock()
	defer s.mu.Unlock()
	if sc := s.schedules[group+"/"+name]; sc != nil {
		return append([]scheduler.UpdateScheduleInput(nil), sc.updates...)
	}
	return nil
}

func (s *Scheduler) serveHTTP(w http.ResponseWriter, r *http.Request) {
	body, read := readBody(r)
	if !read {
		return // the client gave up while sending: nothing reached the service
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	q := r.URL.Query()
	bound := map[string]string{}
	var op string
	path := r.URL.EscapedPath()
	switch {
	case path == "/schedules" && r.Method == http.MethodGet:
		op = "ListSchedules"
		for member, key := range map[string]string{"GroupName": "ScheduleGroup", "NamePrefix": "NamePrefix", "State": "State", "MaxResults": "MaxResults", "NextToken": "NextToken"} {
			if q.Has(key) {
				bound[member] = q.Get(key)
			}
		}
	case strings.HasPrefix(path, "/schedules/") && (r.Method == http.MethodGet || r.Method == http.MethodPut):
		name, err := url.PathUnescape(strings.TrimPrefix(path, "/schedules/"))
		if err != nil || name == "" || strings.Contains(name, "/") {
			s.fail(w, &apiError{400, "ValidationException", "bad schedule name in " + path})
			return
		}
		bound["Name"] = name
		if r.Method == http.MethodGet {
			op = "GetSchedule"
			if q.Has("groupName") {
				bound["GroupName"] = q.Get("groupName")
			}
		} else {
			op = "UpdateSchedule"
		}
	default:
		s.fail(w, &apiError{404, "UnknownOperationException", r.Method + " " + path})
		return
	}
	if aerr := s.begin(r, op, body, bound); aerr != nil {
		if aerr.typ == "ThrottlingException" {
			aerr.status = 429
		}
		s.fail(w, aerr)
		return
	}
	out, aerr := s.dispatch(op, body, bound)
	if aerr != nil {
		s.fail(w, aerr)
		return
	}
	s.reply(w, op, out, true)
}

func (s *Scheduler) dispatch(op string, body []byte, bound map[string]string) (any, *apiError) {
	group := bound["GroupName"]
	if group == "" {
		group = "default"
	}
	switch op {
	case "ListSchedules":
		var keys []string
		for k, sc := range s.schedules {
			if bound["GroupName"] != "" && aws.ToString(sc.s.GroupName) != bound["GroupName"] {
				continue
			}
			if !strings.HasPrefix(aws.ToString(sc.s.Name), bound["NamePrefix"]) {
				continue
			}
			if bound["State"] != "" && string(sc.s.State) != bound["State"] {
				continue
			}
			keys = append(keys, k)
		}
		sort.Strings(keys)
		var summaries []types.ScheduleSummary
		for _, k := range keys {
			sc := s.schedules[k]
			target := sc.s.Target
			if sc.staleFor > 0 {
				sc.staleFor--
				target = sc.stale
			}
			summaries = append(summaries, types.ScheduleSummary{
				Arn: sc.s.Arn, Name: sc.s.Name, GroupName: sc.s.GroupName, State: sc.s.State,
				CreationDate: sc.s.CreationDate, LastModificationDate: sc.s.LastModificationDate,
				Target: &types.TargetSummary{Arn: target.Arn},
			})
		}
		var max *int32
		if v := bound["MaxResults"]; v != "" {
			var n int32
			fmt.Sscanf(v, "%d", &n)
			max = &n
		}
		var tok *string
		if v, ok := bound["NextToken"]; ok {
			tok = &v
		}
		out := scheduler.ListSchedulesOutput{}
		out.Schedules, out.NextToken = page(summaries, tok, max, s.PageSize)
		if out.Schedules == nil {
			out.Schedules = []types.ScheduleSummary{} // required member
		}
		return out, nil
	case "GetSchedule":
		sc := s.schedules[group+"/"+bound["Name"]]
		if sc == nil {
			return nil, &apiError{404, "ResourceNotFoundException", fmt.Sprintf("Schedule %s does not exist.", bound["Name"])}
		}
		return sc.s, nil
	case "UpdateSchedule":
		in, err := decodeInput[scheduler.UpdateScheduleInput](s.model, op, body)
		if err != nil {
			return nil, err
		}
		in.Name = aws.String(bound["Name"])
		group = aws.ToString(in.GroupName)
		if group == "" {
			group = "default"
		}
		sc := s.schedules[group+"/"+bound["Name"]]
		if sc == nil {
			return nil, &apiError{404, "ResourceNotFoundException", fmt.Sprintf("Schedule %s does not exist.", bound["Name"])}
		}
		if s.Reject {
			return nil, &apiError{400, "ValidationException", "fake: this schedule cannot be updated"}
		}
		sc.updates = append(sc.updates, *in)
		sc.stale, sc.staleFor = sc.s.Target, s.Lag
		s.clock = s.clock.Add(time.Second)
		now := s.clock
		// The whole schedule is replaced: what the request leaves out is
		// reset.
		state := in.State
		if state == "" {
			state = types.ScheduleStateEnabled
		}
		sc.s = scheduler.GetScheduleOutput{
			Arn: sc.s.Arn, CreationDate: sc.s.CreationDate, LastModificationDate: &now,
			Name: sc.s.Name, GroupName: aws.String(group),
			ActionAfterCompletion: in.ActionAfterCompletion, Description: in.Description, EndDate: in.EndDate,
			FlexibleTimeWindow: in.FlexibleTimeWindow, KmsKeyArn: in.KmsKeyArn, ScheduleExpression: in.ScheduleExpression,
			ScheduleExpressionTimezone: in.ScheduleExpressionTimezone, StartDate: in.StartDate, State: state, Target: in.Target,
		}
		return scheduler.UpdateScheduleOutput{ScheduleArn: sc.s.Arn}, nil
	}
	return nil, &apiError{400, "UnknownOperationException", "the fake does not implement " + op}
}
