package hfss_test

import (
	"reflect"
	"testing"

	"github.com/simjobs/simjobs/engine/hfss"
)

// Every scheduler option reaches the runner: with each option set, no field
// of the Resources is left at its zero value, so an option added on one side
// only fails here instead of being silently dropped.
func TestResourcesCarriesEveryOption(t *testing.T) {
	var o hfss.SchedulerOptions
	v := reflect.ValueOf(&o).Elem()
	for i := range v.NumField() {
		switch f := v.Field(i); f.Kind() {
		case reflect.String:
			f.SetString("x" + v.Type().Field(i).Name)
		case reflect.Int:
			f.SetInt(int64(i + 1))
		case reflect.Bool:
			f.SetBool(true)
		default:
			t.Fatalf("option %s: kind %s not covered by this test", v.Type().Field(i).Name, f.Kind())
		}
	}
	r := reflect.ValueOf(o.Resources())
	if r.NumField() != v.NumField() {
		t.Errorf("%d options but %d resources", v.NumField(), r.NumField())
	}
	for i := range r.NumField() {
		if r.Field(i).IsZero() {
			t.Errorf("Resources.%s is not filled from the options", r.Type().Field(i).Name)
		}
	}
}
