package actions

import (
	"strconv"

	"github.com/iot-emulator/iot-emulator/internal/iot"
	"github.com/iot-emulator/iot-emulator/internal/pop"
	"github.com/iot-emulator/iot-emulator/internal/store"
	"github.com/iot-emulator/iot-emulator/internal/things"
)

// Page sizes of the history actions (docs/fidelity.md, things §3).
const (
	maxHistoryPage    = 50
	maxPropertiesPage = 100
	defaultEventPage  = 10
)

func msString(t int64) string { return strconv.FormatInt(t, 10) }

// queryDevicePropertyStatus lists the latest value of each property: every
// property of the thing model in its order (never-reported ones without
// Time and Value), or, without a model, every property the device
// reported.
func queryDevicePropertyStatus(st *store.Store, svc *things.Service) pop.Handler {
	return func(c *pop.Call) (pop.Object, error) {
		ctx := c.Context()
		d, _, e := findDevice(ctx, st, c)
		if e != nil {
			return nil, e
		}
		m, err := svc.Model(ctx, d.AccessKeyID, d.ProductKey)
		if err != nil {
			return nil, err
		}
		latest, err := st.LatestProperties(ctx, d.IotID)
		if err != nil {
			return nil, err
		}
		list := pop.List{}
		entry := func(id, name, dataType, unit string) {
			o := pop.Object{{Name: "Identifier", Value: id}, {Name: "Name", Value: name}, {Name: "DataType", Value: dataType}, {Name: "Unit", Value: unit}}
			if v, ok := latest[id]; ok {
				o = append(o, pop.Field{Name: "Time", Value: msString(v.Time.UnixMilli())}, pop.Field{Name: "Value", Value: v.Value})
			}
			list = append(list, o)
		}
		if m != nil {
			for _, p := range m.Properties {
				entry(p.Identifier, p.Name, p.DataType.Type, p.DataType.Unit())
			}
		} else {
			for _, id := range sortedKeys(latest) {
				entry(id, id, latest[id].DataType, "")
			}
		}
		return pop.Object{{Name: "Data", Value: pop.Object{{Name: "List", Value: pop.Object{{Name: "PropertyStatusInfo", Value: list}}}}}}, nil
	}
}

// window reads StartTime, EndTime and Asc. ordered demands StartTime <
// EndTime; QueryDevicePropertiesData instead orders them by Asc.
func window(c *pop.Call, ascDefault int, byAsc bool) (start, end int64, asc bool, e error) {
	start, err1 := strconv.ParseInt(c.Params["StartTime"], 10, 64)
	end, err2 := strconv.ParseInt(c.Params["EndTime"], 10, 64)
	if err1 != nil || err2 != nil || start < 0 || end < 0 {
		return 0, 0, false, ErrInvalidTimeBucket
	}
	a, ok := optionalInt(c, "Asc", ascDefault)
	if !ok || a < 0 || a > 1 {
		return 0, 0, false, ErrInvalidFormattedParameter
	}
	asc = a == 1
	switch {
	case byAsc && asc && start >= end, byAsc && !asc && start <= end:
		return 0, 0, false, ErrInvalidTimeBucket
	case byAsc && !asc:
		start, end = end, start
	case !byAsc && start >= end:
		return 0, 0, false, ErrInvalidTimeBucket
	}
	return start, end, asc, nil
}

// pageSize reads PageSize (1–max).
func pageSize(c *pop.Call, def, max int) (int, error) {
	n, ok := optionalInt(c, "PageSize", def)
	if !ok || n < 1 || n > max {
		return 0, ErrInvalidPageParams
	}
	return n, nil
}

// nextPage is NextValid and NextTime of a history page of times (up to
// limit+1 of them): the time of the next page's first record, which the
// caller passes as its next EndTime (newest first) or StartTime (oldest
// first).
func nextPage(times []int64, limit int, asc bool, start, end int64) (bool, int64) {
	if len(times) > limit {
		return true, times[limit]
	}
	switch {
	case len(times) == 0 && asc:
		return false, end
	case len(times) == 0:
		return false, start
	case asc:
		return false, times[len(times)-1] + 1
	}
	return false, times[len(times)-1] - 1
}

// historyQuery reads what the one-list history actions share: the time
// window, the page size (defaulting to def) and the device.
func historyQuery(c *pop.Call, st *store.Store, def int) (iot.HistoryQuery, error) {
	start, end, asc, e := window(c, 0, false)
	if e != nil {
		return iot.HistoryQuery{}, e
	}
	size, e := pageSize(c, def, maxHistoryPage)
	if e != nil {
		return iot.HistoryQuery{}, e
	}
	d, _, e := findDevice(c.Context(), st, c)
	if e != nil {
		return iot.HistoryQuery{}, e
	}
	return iot.HistoryQuery{IotID: d.IotID, Identifier: c.Params["Identifier"], Start: start, End: end, Asc: asc, Limit: size}, nil
}

// historyPage answers up to q.Limit of n records (the store reads one
// more, to tell whether a next page exists) as Data.List.{key}, with
// NextValid and NextTime; at gives a record's time, item its entry.
func historyPage(q iot.HistoryQuery, n int, at func(i int) int64, item func(i int, ms int64) pop.Object, key string) pop.Object {
	times := make([]int64, n)
	for i := range times {
		times[i] = at(i)
	}
	valid, next := nextPage(times, q.Limit, q.Asc, q.Start, q.End)
	shown := min(n, q.Limit)
	if valid {
		// The next page starts at NextTime inclusive, so records sharing
		// that millisecond stay for it rather than showing twice. A page
		// that is all one millisecond is shown whole and the cursor steps
		// past it (the rest of that millisecond is skipped, fidelity note).
		for shown > 0 && times[shown-1] == next {
			shown--
		}
		if shown == 0 {
			shown = q.Limit
			if next++; !q.Asc {
				next -= 2
			}
		}
	}
	list := pop.List{}
	for i := 0; i < shown; i++ {
		list = append(list, item(i, times[i]))
	}
	return pop.Object{{Name: "Data", Value: pop.Object{
		{Name: "NextValid", Value: valid}, {Name: "NextTime", Value: next},
		{Name: "List", Value: pop.Object{{Name: key, Value: list}}},
	}}}
}

// queryDevicePropertyData pages one property's history in a time window.
func queryDevicePropertyData(st *store.Store) pop.Handler {
	return func(c *pop.Call) (pop.Object, error) {
		q, e := historyQuery(c, st, maxHistoryPage)
		if e != nil {
			return nil, e
		}
		vals, err := st.PropertyHistory(c.Context(), q)
		if err != nil {
			return nil, err
		}
		return historyPage(q, len(vals), func(i int) int64 { return vals[i].Time.UnixMilli() }, func(i int, ms int64) pop.Object {
			return pop.Object{{Name: "Time", Value: msString(ms)}, {Name: "Value", Value: vals[i].Value}}
		}, "PropertyInfo"), nil
	}
}

// queryDevicePropertiesData reads several properties' history at once;
// its paging fields are documented as meaningless.
func queryDevicePropertiesData(st *store.Store) pop.Handler {
	return func(c *pop.Call) (pop.Object, error) {
		ctx := c.Context()
		ids := c.List("Identifier")
		seen := map[string]bool{}
		for _, id := range ids {
			if seen[id] || id == "" {
				return nil, ErrInvalidFormattedParameter
			}
			seen[id] = true
		}
		switch {
		case len(ids) == 0:
			return nil, ErrNullParameter
		case len(ids) > maxQueryIdentifier:
			return nil, ErrTooManyIdentifiers
		}
		start, end, asc, e := window(c, 0, true)
		if e != nil {
			return nil, e
		}
		size, e := pageSize(c, maxPropertiesPage, maxPropertiesPage)
		if e != nil {
			return nil, e
		}
		d, _, e := findDevice(ctx, st, c)
		if e != nil {
			return nil, e
		}
		infos := pop.List{}
		budget, more := maxPropertiesPage, false
		var last int64
		for _, id := range ids {
			limit := min(size, budget)
			list := pop.List{}
			if limit > 0 {
				vals, err := st.PropertyHistory(ctx, iot.HistoryQuery{IotID: d.IotID, Identifier: id, Start: start, End: end, Asc: asc, Limit: limit})
				if err != nil {
					return nil, err
				}
				for i, v := range vals {
					if i == limit {
						more = true
						break
					}
					last = v.Time.UnixMilli()
					list = append(list, pop.Object{{Name: "Time", Value: last}, {Name: "Value", Value: v.Value}})
				}
				budget -= len(list)
			}
			infos = append(infos, pop.Object{{Name: "Identifier", Value: id}, {Name: "List", Value: pop.Object{{Name: "PropertyInfo", Value: list}}}})
		}
		return pop.Object{
			{Name: "NextValid", Value: more}, {Name: "NextTime", Value: last},
			{Name: "PropertyDataInfos", Value: pop.Object{{Name: "PropertyDataInfo", Value: infos}}},
		}, nil
	}
}

// queryDeviceEventData pages the events a device posted.
func queryDeviceEventData(st *store.Store) pop.Handler {
	return func(c *pop.Call) (pop.Object, error) {
		q, e := historyQuery(c, st, defaultEventPage)
		if e != nil {
			return nil, e
		}
		q.EventType = c.Params["EventType"]
		if k := q.EventType; k != "" && k != "info" && k != "alert" && k != "error" {
			return nil, ErrInvalidFormattedParameter
		}
		evs, err := st.EventHistory(c.Context(), q)
		if err != nil {
			return nil, err
		}
		return historyPage(q, len(evs), func(i int) int64 { return evs[i].Time.UnixMilli() }, func(i int, ms int64) pop.Object {
			ev := evs[i]
			return pop.Object{{Name: "Identifier", Value: ev.Identifier}, {Name: "Name", Value: ev.Name}, {Name: "EventType", Value: ev.EventType},
				{Name: "Time", Value: msString(ms)}, {Name: "OutputData", Value: ev.OutputData}}
		}, "EventInfo"), nil
	}
}

// queryDeviceServiceData pages the service calls made to a device, with
// its replies.
func queryDeviceServiceData(st *store.Store) pop.Handler {
	return func(c *pop.Call) (pop.Object, error) {
		q, e := historyQuery(c, st, defaultEventPage)
		if e != nil {
			return nil, e
		}
		recs, err := st.ServiceHistory(c.Context(), q)
		if err != nil {
			return nil, err
		}
		return historyPage(q, len(recs), func(i int) int64 { return recs[i].Time.UnixMilli() }, func(i int, ms int64) pop.Object {
			r := recs[i]
			return pop.Object{{Name: "Identifier", Value: r.Identifier}, {Name: "Name", Value: r.Name}, {Name: "Time", Value: msString(ms)},
				{Name: "InputData", Value: r.InputData}, {Name: "OutputData", Value: r.OutputData}}
		}, "ServiceInfo"), nil
	}
}
