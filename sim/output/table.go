package output

import (
	"encoding/csv"
	"fmt"
	"io"
	"reflect"
	"strconv"

	"github.com/parquet-go/parquet-go"
)

// The tables runs write (a sweep's table, a fit's history, a circuit's
// selectivity): columns of int, float or string cells, written as Parquet
// (typed columns, for pandas.read_parquet or pyarrow) and as CSV (for
// pandas.read_csv, which needs nothing more).

// Column is one column of a table.
type Column struct {
	Name string
	// Kind is int (INT64), float (DOUBLE) or string (UTF-8).
	Kind string
}

// rowType is a struct type with one field per column, tagged with the
// column's name, which parquet-go turns into the table's schema in column
// order.
func rowType(cols []Column) reflect.Type {
	fields := make([]reflect.StructField, len(cols))
	for i, c := range cols {
		var t reflect.Type
		switch c.Kind {
		case "int":
			t = reflect.TypeOf(int64(0))
		case "float":
			t = reflect.TypeOf(float64(0))
		default:
			t = reflect.TypeOf("")
		}
		fields[i] = reflect.StructField{Name: fmt.Sprintf("C%d", i), Type: t, Tag: reflect.StructTag(fmt.Sprintf(`parquet:%q`, c.Name))}
	}
	return reflect.StructOf(fields)
}

// WriteParquet writes the table as Parquet from rows of cells, each the text of its column's kind (strconv's
// formats).
func WriteParquet(w io.Writer, cols []Column, rows [][]string) error {
	t := rowType(cols)
	pw := parquet.NewWriter(w, parquet.SchemaOf(reflect.New(t).Interface()))
	for _, r := range rows {
		if len(r) != len(cols) {
			return fmt.Errorf("a row of %d cells for %d columns", len(r), len(cols))
		}
		v := reflect.New(t)
		for i, c := range cols {
			f := v.Elem().Field(i)
			switch c.Kind {
			case "int":
				x, err := strconv.ParseInt(r[i], 10, 64)
				if err != nil {
					return fmt.Errorf("column %s: %w", c.Name, err)
				}
				f.SetInt(x)
			case "float":
				x, err := strconv.ParseFloat(r[i], 64)
				if err != nil {
					return fmt.Errorf("column %s: %w", c.Name, err)
				}
				f.SetFloat(x)
			default:
				f.SetString(r[i])
			}
		}
		if err := pw.Write(v.Interface()); err != nil {
			return err
		}
	}
	return pw.Close()
}

// WriteCSV writes the table as CSV: a header of the column names, then the
// rows' cells.
func WriteCSV(w io.Writer, cols []Column, rows [][]string) error {
	cw := csv.NewWriter(w)
	var head []string
	for _, c := range cols {
		head = append(head, c.Name)
	}
	if err := cw.Write(head); err != nil {
		return err
	}
	for _, r := range rows {
		if err := cw.Write(r); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}
