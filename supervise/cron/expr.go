package cron

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// A field is one column of a cron expression.
type field struct {
	name     string // as errors name it: "minute"
	min, max int
	names    map[string]int // month and weekday names; nil elsewhere
	hint     string         // what to write instead of a bad value
}

var (
	secondField = field{name: "second", min: 0, max: 59, hint: "seconds are 0-59"}
	minuteField = field{name: "minute", min: 0, max: 59, hint: "minutes are 0-59"}
	hourField   = field{name: "hour", min: 0, max: 23, hint: "hours are 0-23"}
	domField    = field{name: "day-of-month", min: 1, max: 31, hint: "days are 1-31, or L for the last day"}
	monthField  = field{name: "month", min: 1, max: 12, names: monthNames, hint: "use 1-12 or jan-dec"}
	dowField    = field{name: "day-of-week", min: 0, max: 7, names: dowNames, hint: "use 0-7 (0 and 7 are Sunday) or sun-sat"}
	yearField   = field{name: "year", min: 1970, max: 2099, hint: "years are 1970-2099"}
)

var monthNames = map[string]int{
	"jan": 1, "feb": 2, "mar": 3, "apr": 4, "may": 5, "jun": 6,
	"jul": 7, "aug": 8, "sep": 9, "oct": 10, "nov": 11, "dec": 12,
	"january": 1, "february": 2, "march": 3, "april": 4, "june": 6, "july": 7,
	"august": 8, "september": 9, "october": 10, "november": 11, "december": 12,
}

var dowNames = map[string]int{
	"sun": 0, "mon": 1, "tue": 2, "wed": 3, "thu": 4, "fri": 5, "sat": 6,
	"sunday": 0, "monday": 1, "tuesday": 2, "wednesday": 3, "thursday": 4,
	"friday": 5, "saturday": 6,
}

// A set holds the values of one field, offset by the field's minimum.
type set [3]uint64

func (s *set) add(v int)      { s[v/64] |= 1 << (v % 64) }
func (s *set) has(v int) bool { return v >= 0 && v < 192 && s[v/64]&(1<<(v%64)) != 0 }
func (s *set) addRange(lo, hi, step int) {
	for v := lo; v <= hi; v += step {
		s.add(v)
	}
}

// values is a parsed field: the set plus whether it was written as a
// wildcard (* or ?, alone or stepped), which cron's day and DST rules look
// at.
type values struct {
	set  set
	min  int
	star bool
}

func (v *values) has(x int) bool { return v.set.has(x - v.min) }

// next returns the smallest value >= x in the set, or false.
func (v *values) next(x, max int) (int, bool) {
	for ; x <= max; x++ {
		if v.has(x) {
			return x, true
		}
	}
	return 0, false
}

// An Expr is a parsed cron time expression: 5 fields (minute hour
// day-of-month month day-of-week), 6 (a seconds field first) or 7 (seconds
// first and a year last). It is evaluated on the wall clock of Location.
type Expr struct {
	second, minute, hour, dom, month, dow, year values
	// Special day-of-month and day-of-week forms.
	lastDom bool       // L: the last day of the month
	lastDow [7]bool    // 5L: the last Friday of the month
	nthDow  [7][6]bool // 5#3: the third Friday
	anyDow  bool       // lastDow or nthDow used
	loc     *time.Location
	text    string
}

// String returns the expression as written.
func (e *Expr) String() string { return e.text }

// Location returns the time zone whose wall clock the expression follows.
func (e *Expr) Location() *time.Location { return e.loc }

// A FieldError is a problem with one field of a time expression.
type FieldError struct {
	Field string // "minute"
	Value string // the field as written
	Msg   string
}

func (e *FieldError) Error() string {
	return fmt.Sprintf("%s field %q: %s", e.Field, e.Value, e.Msg)
}

// ParseExpr parses a 5-, 6- or 7-field time expression evaluated in loc
// (nil means UTC).
func ParseExpr(text string, loc *time.Location) (*Expr, error) {
	fields := strings.Fields(text)
	e, _, err := parseFields(fields, loc)
	if err != nil {
		return nil, err
	}
	return e, nil
}

// parseFields parses fields as a whole expression. On error it also
// returns how many fields parsed before the bad one, which lets the crontab
// reader pick the most helpful error among 5/6/7-field readings.
func parseFields(fields []string, loc *time.Location) (*Expr, int, error) {
	if loc == nil {
		loc = time.UTC
	}
	e := &Expr{loc: loc, text: strings.Join(fields, " ")}
	var layout []*values
	var descs []field
	switch len(fields) {
	case 5:
		e.second.set.add(0)
		layout = []*values{&e.minute, &e.hour, &e.dom, &e.month, &e.dow}
		descs = []field{minuteField, hourField, domField, monthField, dowField}
	case 6:
		layout = []*values{&e.second, &e.minute, &e.hour, &e.dom, &e.month, &e.dow}
		descs = []field{secondField, minuteField, hourField, domField, monthField, dowField}
	case 7:
		layout = []*values{&e.second, &e.minute, &e.hour, &e.dom, &e.month, &e.dow, &e.year}
		descs = []field{secondField, minuteField, hourField, domField, monthField, dowField, yearField}
	default:
		return nil, 0, fmt.Errorf("%d time fields; want 5 (minute hour day-of-month month day-of-week), 6 (a seconds field first) or 7 (seconds first, year last)", len(fields))
	}
	if len(fields) != 7 {
		e.year.star = true
		e.year.min = yearField.min
		e.year.set.addRange(0, yearField.max-yearField.min, 1)
	}
	for i, f := range fields {
		var err error
		switch descs[i].name {
		case "day-of-month":
			err = e.parseDom(f)
		case "day-of-week":
			err = e.parseDow(f)
		default:
			*layout[i], err = parseField(f, descs[i])
		}
		if err != nil {
			return nil, i, err
		}
	}
	if !e.canMatchSomeDay() {
		domIndex := 3
		if len(fields) == 5 {
			domIndex = 2
		}
		return nil, len(fields), &FieldError{Field: "day-of-month", Value: fields[domIndex],
			Msg: "no month in the month field has that many days, so the job would never run"}
	}
	return e, len(fields), nil
}

// parseField parses one ordinary field: a comma list of *, N, A-B, with
// an optional /STEP.
func parseField(text string, f field) (values, error) {
	v := values{min: f.min}
	bad := func(format string, args ...any) (values, error) {
		return values{}, &FieldError{Field: f.name, Value: text, Msg: fmt.Sprintf(format, args...)}
	}
	if text == "" {
		return bad("empty")
	}
	v.star = strings.HasPrefix(text, "*") || text == "?"
	for _, item := range strings.Split(text, ",") {
		if item == "" {
			return bad("empty list item")
		}
		rng, stepText, hasStep := strings.Cut(item, "/")
		lo, hi := f.min, f.max
		switch {
		case rng == "*":
		case rng == "?" && !hasStep && (f.name == "day-of-month" || f.name == "day-of-week"):
		case rng == "?":
			return bad("? is only allowed alone in the day-of-month and day-of-week fields")
		default:
			a, b, isRange := strings.Cut(rng, "-")
			var err error
			if lo, err = f.value(a); err != nil {
				return bad("%v", err)
			}
			hi = lo
			if isRange {
				if hi, err = f.value(b); err != nil {
					return bad("%v", err)
				}
				if f.names != nil && hi == 0 && lo > 0 && f.max == 7 {
					hi = 7 // sat-sun: Sunday at the end of a range is 7
				}
				if hi < lo {
					return bad("range %s goes backwards (write %d-%d,%d-%d)", rng, lo, f.max, f.min, hi)
				}
			} else if hasStep {
				hi = f.max // N/STEP runs from N to the end, as in Quartz and supercronic
			}
		}
		step := 1
		if hasStep {
			n, err := strconv.Atoi(stepText)
			if err != nil || n < 1 {
				return bad("step %q must be a whole number of at least 1", stepText)
			}
			if n > f.max-f.min+1 {
				return bad("step %d is larger than the field's range %d-%d (steps restart in every %s; for longer intervals use @every)", n, f.min, f.max, parentUnit(f.name))
			}
			step = n
		}
		v.set.addRange(lo-f.min, hi-f.min, step)
	}
	return v, nil
}

func parentUnit(name string) string {
	switch name {
	case "second":
		return "minute"
	case "minute":
		return "hour"
	case "hour":
		return "day"
	case "day-of-month", "day-of-week":
		return "month or week"
	case "month":
		return "year"
	}
	return "range"
}

// value parses one number or name of field f.
func (f field) value(s string) (int, error) {
	if s == "" {
		return 0, fmt.Errorf("missing number (%s)", f.hint)
	}
	if s[0] >= '0' && s[0] <= '9' {
		n, err := strconv.Atoi(s)
		if err != nil {
			return 0, fmt.Errorf("%q is not a number (%s)", s, f.hint)
		}
		if n < f.min || n > f.max {
			return 0, fmt.Errorf("%d is out of range %d-%d", n, f.min, f.max)
		}
		return n, nil
	}
	if f.names != nil {
		if n, ok := f.names[strings.ToLower(s)]; ok {
			return n, nil
		}
		kind := "month"
		if f.name == "day-of-week" {
			kind = "day"
		}
		return 0, fmt.Errorf("unknown %s name %q (%s)", kind, s, f.hint)
	}
	return 0, fmt.Errorf("%q is not a number (%s)", s, f.hint)
}

// parseDom parses the day-of-month field, which also accepts L (the last
// day of the month).
func (e *Expr) parseDom(text string) error {
	var plain []string
	for _, item := range strings.Split(text, ",") {
		switch strings.ToUpper(item) {
		case "L":
			e.lastDom = true
			continue
		}
		if strings.HasSuffix(strings.ToUpper(item), "W") {
			return &FieldError{Field: "day-of-month", Value: text, Msg: fmt.Sprintf("%s: the nearest-weekday form W is not supported (list the days, or use L for the last day)", item)}
		}
		plain = append(plain, item)
	}
	if len(plain) == 0 {
		e.dom = values{min: domField.min}
		return nil
	}
	v, err := parseField(strings.Join(plain, ","), domField)
	if err != nil {
		if fe, ok := err.(*FieldError); ok {
			fe.Value = text
		}
		return err
	}
	v.star = v.star && !e.lastDom
	e.dom = v
	return nil
}

// parseDow parses the day-of-week field, which also accepts 5L (the last
// Friday of the month) and 5#3 (the third Friday).
func (e *Expr) parseDow(text string) error {
	var plain []string
	bad := func(format string, args ...any) error {
		return &FieldError{Field: "day-of-week", Value: text, Msg: fmt.Sprintf(format, args...)}
	}
	for _, item := range strings.Split(text, ",") {
		if day, nth, ok := strings.Cut(item, "#"); ok {
			d, err := dowField.value(day)
			if err != nil {
				return bad("%v", err)
			}
			n, err := strconv.Atoi(nth)
			if err != nil || n < 1 || n > 5 {
				return bad("%s: the week number after # must be 1-5", item)
			}
			e.nthDow[d%7][n] = true
			e.anyDow = true
			continue
		}
		if len(item) > 1 && (item[len(item)-1] == 'L' || item[len(item)-1] == 'l') && item[0] >= '0' && item[0] <= '9' {
			d, err := dowField.value(item[:len(item)-1])
			if err != nil {
				return bad("%v", err)
			}
			e.lastDow[d%7] = true
			e.anyDow = true
			continue
		}
		plain = append(plain, item)
	}
	if len(plain) == 0 {
		e.dow = values{min: 0}
		return nil
	}
	v, err := parseField(strings.Join(plain, ","), dowField)
	if err != nil {
		if fe, ok := err.(*FieldError); ok {
			fe.Value = text
		}
		return err
	}
	if v.has(7) {
		v.set.add(0)
	}
	v.star = v.star && !e.anyDow
	e.dow = v
	return nil
}

// canMatchSomeDay rejects expressions such as "0 0 31 2 *" that name only
// days no selected month has, which cron would silently never run.
func (e *Expr) canMatchSomeDay() bool {
	if !e.dow.star || e.lastDom {
		return true // a weekday or the last day matches some day of every month
	}
	longest := 0
	for m := 1; m <= 12; m++ {
		if e.month.has(m) && maxDays[m] > longest {
			longest = maxDays[m]
		}
	}
	for d := 1; d <= longest; d++ {
		if e.dom.has(d) {
			return true
		}
	}
	return false
}

var maxDays = [13]int{0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31}

func daysIn(year, month int) int {
	if month == 2 {
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	}
	return maxDays[month]
}

// dayMatches applies cron's day rule: when both day fields are restricted
// (neither starts with *), a day matching either runs the job; otherwise
// both must match (the unrestricted one matches every day).
func (e *Expr) dayMatches(y, m, d int) bool {
	domOK := e.dom.has(d) || (e.lastDom && d == daysIn(y, m))
	wd := int(time.Date(y, time.Month(m), d, 0, 0, 0, 0, time.UTC).Weekday())
	dowOK := e.dow.has(wd) || e.lastDow[wd] && d+7 > daysIn(y, m) || e.nthDow[wd][(d-1)/7+1]
	if e.dom.star || e.dow.star {
		return domOK && dowOK
	}
	return domOK || dowOK
}

// wildcardTime reports whether the minute or hour field starts with *. Such
// jobs follow the wall clock through DST changes (an hourly job runs in
// both copies of a repeated hour); jobs at fixed times run once per
// matching wall-clock time. This is Vixie cron's rule.
func (e *Expr) wildcardTime() bool { return e.minute.star || e.hour.star }

// A civil time is a wall-clock reading, held as seconds since 1970-01-01
// 00:00:00 of that wall clock (no zone).
type civil int64

func toCivil(t time.Time) civil {
	_, off := t.Zone()
	return civil(t.Unix() + int64(off))
}

func (c civil) parts() (y, mo, d, h, mi, s int) {
	t := time.Unix(int64(c), 0).UTC()
	return t.Year(), int(t.Month()), t.Day(), t.Hour(), t.Minute(), t.Second()
}

func makeCivil(y, mo, d, h, mi, s int) civil {
	return civil(time.Date(y, time.Month(mo), d, h, mi, s, 0, time.UTC).Unix())
}

// carry moves an overflowing field (minute 60, hour 24, day 32) into the
// next larger one, as time.Date does for the UTC wall clock civil uses.
func carry(y, mo, d, h, mi, s int) (int, int, int, int, int, int) {
	return makeCivil(y, mo, d, h, mi, s).parts()
}

// searchYears bounds the search for the next matching day: a schedule
// matching no day in that span (Feb 29 on a Sunday can be 28 years away)
// never runs.
const searchYears = 30

// nextCivil returns the first wall-clock time at or after c that matches
// the expression.
func (e *Expr) nextCivil(c civil) (civil, bool) {
	y, mo, d, h, mi, s := c.parts()
	limit := y + searchYears
	if !e.year.star {
		limit = yearField.max
	}
	for y <= limit && y <= yearField.max {
		if !e.year.has(y) {
			y, mo, d, h, mi, s = y+1, 1, 1, 0, 0, 0
			continue
		}
		if !e.month.has(mo) {
			if m, ok := e.month.next(mo+1, 12); ok {
				mo, d, h, mi, s = m, 1, 0, 0, 0
			} else {
				y, mo, d, h, mi, s = y+1, 1, 1, 0, 0, 0
			}
			continue
		}
		if !e.dayMatches(y, mo, d) {
			y, mo, d, h, mi, s = carry(y, mo, d+1, 0, 0, 0)
			continue
		}
		nh, ok := e.hour.next(h, 23)
		if !ok {
			y, mo, d, h, mi, s = carry(y, mo, d+1, 0, 0, 0)
			continue
		}
		if nh != h {
			h, mi, s = nh, 0, 0
		}
		nmi, ok := e.minute.next(mi, 59)
		if !ok {
			y, mo, d, h, mi, s = carry(y, mo, d, h+1, 0, 0)
			continue
		}
		if nmi != mi {
			mi, s = nmi, 0
		}
		ns, ok := e.second.next(s, 59)
		if !ok {
			y, mo, d, h, mi, s = carry(y, mo, d, h, mi+1, 0)
			continue
		}
		return makeCivil(y, mo, d, h, mi, ns), true
	}
	return 0, false
}

// Next returns the first run time strictly after t, or the zero Time when
// the expression never matches again.
//
// The rule (Vixie cron's, which supercronic users also get from most
// crons): a job at a fixed time (minute and hour fields without *) runs
// once for each matching wall-clock time. When the clock springs forward
// over that time, it runs at the first instant after the gap; when the
// clock falls back and the time occurs twice, it runs at the first
// occurrence only. A job with * in its minute or hour field follows the
// clock: times skipped by a gap do not exist for it, and a repeated hour
// is run again, so an hourly or every-5-minutes job keeps its real-time
// rhythm.
func (e *Expr) Next(t time.Time) time.Time {
	next, _ := e.next(t)
	return next
}

// next is Next plus a note, for the log, when DST moved the run or its
// wall-clock time occurs twice.
func (e *Expr) next(t time.Time) (time.Time, string) {
	after := t.Unix() // runs are on whole seconds: u > t  <=>  u > floor(t)
	if e.wildcardTime() {
		return e.nextFollowingClock(after)
	}
	return e.nextFixed(after)
}

// nextFollowingClock returns the first whole second after `after` whose
// wall-clock reading matches.
func (e *Expr) nextFollowingClock(after int64) (time.Time, string) {
	u := after + 1
	for range 1000 { // one pass per zone period crossed
		lt := time.Unix(u, 0).In(e.loc)
		_, off := lt.Zone()
		_, end := lt.ZoneBounds()
		c, ok := e.nextCivil(civil(u + int64(off)))
		if !ok {
			return time.Time{}, ""
		}
		inst := int64(c) - int64(off)
		if end.IsZero() || inst < end.Unix() {
			return time.Unix(inst, 0).In(e.loc), ""
		}
		u = end.Unix()
	}
	return time.Time{}, ""
}

// nextFixed returns the first run after `after` of a fixed-time job.
func (e *Expr) nextFixed(after int64) (time.Time, string) {
	lt := time.Unix(after, 0).In(e.loc)
	from := toCivil(lt) + 1
	// After a fall-back, wall times of the repeated hour already ran at
	// their first occurrence: resume at the end of the repeated hour.
	if start, _ := lt.ZoneBounds(); !start.IsZero() {
		_, off := lt.Zone()
		_, prevOff := start.Add(-time.Second).Zone()
		if prevOff > off && after < start.Unix()+int64(prevOff-off) {
			from = max(from, civil(start.Unix()+int64(prevOff)))
		}
	}
	for range 100000 {
		c, ok := e.nextCivil(from)
		if !ok {
			return time.Time{}, ""
		}
		occ, n, gapEnd := occurrences(e.loc, c)
		inst, note := occ[0], ""
		switch n {
		case 0:
			inst = gapEnd
			note = fmt.Sprintf("%s does not exist in %s (the clock springs forward): run at the end of the gap",
				time.Unix(int64(c), 0).UTC().Format("2006-01-02 15:04:05"), e.loc)
		case 2:
			note = fmt.Sprintf("%s occurs twice in %s (the clock falls back): run at the first occurrence only",
				time.Unix(int64(c), 0).UTC().Format("2006-01-02 15:04:05"), e.loc)
		}
		if inst > after {
			return time.Unix(inst, 0).In(e.loc), note
		}
		from = c + 1
	}
	return time.Time{}, ""
}

// occurrences returns the instants (Unix seconds, ascending) at which loc's
// wall clock reads c: none in a DST gap, two in a repeated hour. For a gap
// it also returns the instant the gap ends.
func occurrences(loc *time.Location, c civil) (occ [2]int64, n int, gapEnd int64) {
	// UTC offsets lie within ±14h (+slack), so every candidate instant is
	// in this window.
	const window = 16 * 3600
	u := int64(c) - window
	for range 100 {
		lt := time.Unix(u, 0).In(loc)
		_, off := lt.Zone()
		start, end := lt.ZoneBounds()
		cand := int64(c) - int64(off)
		if (start.IsZero() || cand >= start.Unix()) && (end.IsZero() || cand < end.Unix()) && n < 2 {
			occ[n] = cand
			n++
		}
		if end.IsZero() || end.Unix() > int64(c)+window {
			break
		}
		_, nextOff := end.Zone()
		if e := end.Unix(); civil(e+int64(off)) <= c && c < civil(e+int64(nextOff)) {
			gapEnd = e
		}
		u = end.Unix()
	}
	return occ, n, gapEnd
}
