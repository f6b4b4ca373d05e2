package apitype

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Sweep is a parameter sweep with its counts (GET /api/sweeps/{id}).
type Sweep struct {
	ID          string         `json:"id"`
	Name        string         `json:"name"`
	User        string         `json:"user"`
	Total       int            `json:"total"`
	Counts      map[Status]int `json:"counts"`
	Parameters  SweepParams    `json:"parameters"`
	Mode        string         `json:"mode"`
	MaxParallel int            `json:"max_parallel"`
	Priority    int            `json:"priority"`
	SubmitTime  time.Time      `json:"submit_time"`
	EndTime     *time.Time     `json:"end_time"`
	JobIDs      []string       `json:"job_ids"`
}

// SweepParam is one swept variable and its values.
type SweepParam struct {
	Name   string
	Values []string
}

// SweepParams keep a sweep's parameters in the order they were written; on
// the wire they are a JSON object {"VAR": ["v1", "v2"]}.
type SweepParams []SweepParam

// MarshalJSON writes the object in the parameters' order.
func (ps SweepParams) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, p := range ps {
		if i > 0 {
			b.WriteByte(',')
		}
		k, _ := json.Marshal(p.Name)
		v, err := json.Marshal(p.Values)
		if err != nil {
			return nil, err
		}
		b.Write(k)
		b.WriteByte(':')
		b.Write(v)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// UnmarshalJSON reads the object keeping its order. The server writes the
// values as strings; numbers and booleans are taken as their JSON text, as
// a submission may write them.
func (ps *SweepParams) UnmarshalJSON(b []byte) error {
	if string(bytes.TrimSpace(b)) == "null" {
		*ps = nil
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return errors.New(`sweep parameters: want an object {"NAME": ["value", ...]}`)
	}
	out := SweepParams{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return fmt.Errorf("sweep parameters: %w", err)
		}
		name, _ := tok.(string)
		var raw []json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return fmt.Errorf("sweep parameters: %s: %w", name, err)
		}
		p := SweepParam{Name: name, Values: make([]string, len(raw))}
		for i, v := range raw {
			var s string
			if json.Unmarshal(v, &s) != nil {
				s = string(v)
			}
			p.Values[i] = s
		}
		out = append(out, p)
	}
	if _, err := dec.Token(); err != nil {
		return fmt.Errorf("sweep parameters: %w", err)
	}
	*ps = out
	return nil
}

// SweepReply answers POST /api/sweeps and POST /api/sweeps/{id}/resubmit.
type SweepReply struct {
	Success bool     `json:"success"`
	SweepID string   `json:"sweep_id"`
	JobIDs  []string `json:"job_ids"`
	Message string   `json:"message"`
}

// SweepCancelReply answers POST /api/sweeps/{id}/cancel.
type SweepCancelReply struct {
	Success   bool   `json:"success"`
	Message   string `json:"message"`
	Cancelled int    `json:"cancelled"`
}
