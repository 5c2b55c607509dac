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
// (awsJson1_1, camelCase members). A task's log stream does not exist until
// its container has written, so a stream added with Stream answers
// ResourceNotFoundException for its first Absent reads; after that each
// read makes at most Trickle more events visible (0: all), as events
// arrive while the task runs, and each response holds at most PageSize
// events. When nothing new is there, nextForwardToken is the token the
// caller sent, as on AWS.
type Logs struct {
	*modelled
	PageSize int

	streams  map[string]*stream // group/stream
	prefixes []*stream
}

type stream struct {
	group, name     string
	lines           []string
	absent, trickle int
	visible, reads  int
}

// NewLogs starts a CloudWatch Logs fake with no log streams.
func NewLogs() *Logs {
	l := &Logs{PageSize: 3, streams: map[string]*stream{}}
	l.modelled = newModelled("logs", "com.amazonaws.logs#", l.serveHTTP)
	l.start()
	return l
}

// Stream scripts the log stream group/name: absent for the first absent
// reads, then lines made visible trickle at a time. A name ending in "*"
// is a prefix: the first stream read under it gets this script (the task
// ID in PREFIX/CONTAINER/TASK_ID is known only once the task runs).
func (l *Logs) Stream(group, name string, absent, trickle int, lines ...string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	s := &stream{group: group, name: name, lines: lines, absent: absent, trickle: trickle}
	if strings.HasSuffix(name, "*") {
		l.prefixes = append(l.prefixes, s)
		return
	}
	l.streams[group+"/"+name] = s
}

// StreamNames lists the streams read so far, as group/name.
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
		if out, aerr = l.getLogEvents(in); aerr == nil {
			l.reply(w, op, out, false)
			return
		}
	}
	l.fail(w, aerr)
}

func (l *Logs) getLogEvents(in *cloudwatchlogs.GetLogEventsInput) (cloudwatchlogs.GetLogEventsOutput, *apiError) {
	group, name := aws.ToString(in.LogGroupName), aws.ToString(in.LogStreamName)
	s := l.streams[group+"/"+name]
	if s == nil {
		for i, p := range l.prefixes {
			if p.group == group && strings.HasPrefix(name, strings.TrimSuffix(p.name, "*")) {
				s = p
				s.name = name
				l.streams[group+"/"+name] = s
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
	if s.trickle == 0 {
		s.visible = len(s.lines)
	} else {
		s.visible = min(len(s.lines), s.visible+s.trickle)
	}
	if !aws.ToBool(in.StartFromHead) && in.NextToken == nil {
		return cloudwatchlogs.GetLogEventsOutput{}, &apiError{400, "InvalidParameterException", "the fake serves only startFromHead reads"}
	}
	start := 0
	if in.NextToken != nil {
		if _, err := fmt.Sscanf(*in.NextToken, "f/%d", &start); err != nil || start > s.visible {
			return cloudwatchlogs.GetLogEventsOutput{}, &apiError{400, "InvalidParameterException", "The specified nextToken is invalid."}
		}
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
