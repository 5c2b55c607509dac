package ecsfake

import (
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
)

// LogsTargetPrefix is the X-Amz-Target prefix of CloudWatch Logs
// operations.
const LogsTargetPrefix = "Logs_20140328."

// Logs is an in-memory Amazon CloudWatch Logs serving GetLogEvents
// (awsJson1_1, camelCase members). Log groups live in a region (that of
// the request's signature): a group read in another region does not exist
// ("The specified log group does not exist."). A task's log stream does not exist until
// its container has written, so a stream added with Stream answers
// ResourceNotFoundException for its first Absent reads; after that each
// read makes at most Trickle more events visible (0: all), as events
// arrive while the task runs, and each response holds at most PageSize
// events. When nothing new is there, nextForwardToken is the token the
// caller sent, as on AWS. With EmptyPages, a read that would return
// events first returns an empty page with a new nextForwardToken, as
// CloudWatch does while it scans forward: only the token the caller sent
// coming back means the end.
type Logs struct {
	*modelled
	PageSize   int
	EmptyPages bool

	groups   map[string]bool    // region/group
	streams  map[string]*stream // region/group/stream
	prefixes []*stream
}

type stream struct {
	region, group, name string
	lines               []string
	absent, trickle     int
	visible, reads      int
	// Timed streams: event i is written at[i] after the first read and
	// reaches CloudWatch delay later.
	timed   bool
	at      []time.Duration
	delay   time.Duration
	created time.Time
}

// An Event is a log line a container writes At after its stream appears.
type Event struct {
	At      time.Duration
	Message string
}

// NewLogs starts a CloudWatch Logs fake with no log streams.
func NewLogs() *Logs {
	l := &Logs{PageSize: 3, groups: map[string]bool{}, streams: map[string]*stream{}}
	l.modelled = newModelled("logs", "com.amazonaws.logs#", l.serveHTTP)
	l.start()
	return l
}

// Stream scripts the log stream group/name: absent for the first absent
// reads, then lines made visible trickle at a time. A name ending in "*"
// is a prefix: the first stream read under it gets this script (the task
// ID in PREFIX/CONTAINER/TASK_ID is known only once the task runs).
func (l *Logs) Stream(group, name string, absent, trickle int, lines ...string) {
	l.add(&stream{region: Region, group: group, name: name, lines: lines, absent: absent, trickle: trickle})
}

// TimedStream scripts a stream of group in region whose events are
// written at their At (from the stream's first read: the task started)
// and become visible delay later, CloudWatch's delivery delay: the last
// lines of a task may arrive after it stopped.
func (l *Logs) TimedStream(region, group, name string, delay time.Duration, events ...Event) {
	s := &stream{region: region, group: group, name: name, timed: true, delay: delay}
	for _, e := range events {
		s.lines, s.at = append(s.lines, e.Message), append(s.at, e.At)
	}
	l.add(s)
}

// AddGroup creates an empty log group in region.
func (l *Logs) AddGroup(region, group string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.groups[region+"/"+group] = true
}

func (l *Logs) add(s *stream) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.groups[s.region+"/"+s.group] = true
	if strings.HasSuffix(s.name, "*") {
		l.prefixes = append(l.prefixes, s)
		return
	}
	l.streams[s.region+"/"+s.group+"/"+s.name] = s
}

// signedRegion is the region in a SigV4 Authorization header's scope.
func signedRegion(r *http.Request) string {
	_, cred, _ := strings.Cut(r.Header.Get("Authorization"), "Credential=")
	parts := strings.Split(cred, "/")
	if len(parts) < 3 {
		return ""
	}
	return parts[2]
}

// StreamNames lists the streams read so far, as region/group/name.
func (l *Logs) StreamNames() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for k := range l.streams {
		out = append(out, k)
	}
	return out
}

func (l *Logs) serveHTTP(w http.ResponseWriter, r *http.Request) {
	op, ok := strings.CutPrefix(r.Header.Get("X-Amz-Target"), LogsTargetPrefix)
	body, read := readBody(r)
	if !read {
		return // the client gave up while sending: nothing reached the service
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	if r.Method != http.MethodPost || !ok {
		l.fail(w, &apiError{400, "UnknownOperationException", "no such operation " + r.Header.Get("X-Amz-Target")})
		return
	}
	if aerr := l.begin(r, op, body, nil); aerr != nil {
		l.fail(w, aerr)
		return
	}
	if op != "GetLogEvents" {
		l.fail(w, &apiError{400, "UnknownOperationException", "the fake does not implement " + op})
		return
	}
	in, aerr := decodeInput[cloudwatchlogs.GetLogEventsInput](l.model, op, body)
	if aerr == nil {
		var out cloudwatchlogs.GetLogEventsOutput
		if out, aerr = l.getLogEvents(signedRegion(r), in); aerr == nil {
			l.reply(w, op, out, false)
			return
		}
	}
	l.fail(w, aerr)
}

func (l *Logs) getLogEvents(region string, in *cloudwatchlogs.GetLogEventsInput) (cloudwatchlogs.GetLogEventsOutput, *apiError) {
	group, name := aws.ToString(in.LogGroupName), aws.ToString(in.LogStreamName)
	if !l.groups[region+"/"+group] {
		return cloudwatchlogs.GetLogEventsOutput{}, &apiError{400, "ResourceNotFoundException", "The specified log group does not exist."}
	}
	key := region + "/" + group + "/" + name
	s := l.streams[key]
	if s == nil {
		for i, p := range l.prefixes {
			if p.region == region && p.group == group && strings.HasPrefix(name, strings.TrimSuffix(p.name, "*")) {
				s = p
				s.name = name
				s.created = time.Now()
				l.streams[key] = s
				l.prefixes = append(l.prefixes[:i], l.prefixes[i+1:]...)
				break
			}
		}
	}
	notFound := &apiError{400, "ResourceNotFoundException", "The specified log stream does not exist."}
	if s == nil {
		return cloudwatchlogs.GetLogEventsOutput{}, notFound
	}
	s.reads++
	if s.reads <= s.absent {
		return cloudwatchlogs.GetLogEventsOutput{}, notFound
	}
	switch {
	case s.timed:
		if s.created.IsZero() {
			s.created = time.Now()
		}
		age := time.Since(s.created)
		for s.visible < len(s.lines) && s.at[s.visible]+s.delay <= age {
			s.visible++
		}
	case s.trickle == 0:
		s.visible = len(s.lines)
	default:
		s.visible = min(len(s.lines), s.visible+s.trickle)
	}
	if !aws.ToBool(in.StartFromHead) && in.NextToken == nil {
		return cloudwatchlogs.GetLogEventsOutput{}, &apiError{400, "InvalidParameterException", "the fake serves only startFromHead reads"}
	}
	start, scanned := 0, false
	if in.NextToken != nil {
		tok := *in.NextToken
		scanned = strings.HasSuffix(tok, "s")
		if _, err := fmt.Sscanf(strings.TrimSuffix(tok, "s"), "f/%d", &start); err != nil || start > s.visible {
			return cloudwatchlogs.GetLogEventsOutput{}, &apiError{400, "InvalidParameterException", "The specified nextToken is invalid."}
		}
	}
	if l.EmptyPages && !scanned && start < s.visible {
		// A stretch scanned with nothing in it: no events, a new token.
		return cloudwatchlogs.GetLogEventsOutput{
			Events:            []types.OutputLogEvent{},
			NextForwardToken:  aws.String(fmt.Sprintf("f/%055ds", start)),
			NextBackwardToken: aws.String(fmt.Sprintf("b/%056d", start)),
		}, nil
	}
	size := l.PageSize
	if in.Limit != nil && int(*in.Limit) < size {
		size = int(*in.Limit)
	}
	end := min(start+size, s.visible)
	out := cloudwatchlogs.GetLogEventsOutput{
		Events:            []types.OutputLogEvent{},
		NextForwardToken:  aws.String(fmt.Sprintf("f/%056d", end)),
		NextBackwardToken: aws.String(fmt.Sprintf("b/%056d", start)),
	}
	base := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC).UnixMilli()
	for i := start; i < end; i++ {
		ts := base + int64(i)
		out.Events = append(out.Events, types.OutputLogEvent{Timestamp: aws.Int64(ts), IngestionTime: aws.Int64(ts + 10), Message: aws.String(s.lines[i])})
	}
	return out, nil
}
