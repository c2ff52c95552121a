"""Values in a stack file and the text a program gets for each under the CLI: what CLI v3.274.1 passed a program for
the same YAML. Shared by the loader's tests and e2e/tests/test_stack_yaml.py, which asks the real CLI again."""

AS_THE_CLI_PASSES_THEM = [
    # YAML 1.1's booleans and base-60 numbers are plain text to yaml.v3.
    ("yes", "yes"), ("on", "on"), ("Yes", "Yes"), ("03:00", "03:00"), ("12:30", "12:30"),
    ("True", "true"), ("false", "false"), ('"yes"', "yes"), ("!!str 1.0", "1.0"),
    # Null, in its four spellings and left empty, is the empty string.
    ("~", ""), ("NULL", ""), ("null", ""), ("", ""),
    # Integers by Go's ParseInt with base 0, underscores dropped.
    ("0777", "511"), ("012", "10"), ("0x1F", "31"), ("0b101", "5"), ("0o17", "15"), ("1_000", "1000"), ("+12", "12"),
    ("-0", "0"), ("12345678901234567890", "12345678901234567890"), ("089", "89"),
    # Floats as Go's encoding/json writes them.
    ("1.0", "1"), ("1e3", "1000"), ("1e6", "1000000"), ("1234567.0", "1234567"), ("0.5", "0.5"), (".5", "0.5"),
    ("5.", "5"), ("100000.0", "100000"), ("0.0000001", "1e-7"), ("1.5e300", "1.5e+300"), ("1e21", "1e+21"),
    ("99999999999999999999999", "1e+23"), ("-0.0", "0"), ("1_0.5", "10.5"), ("!!float 1", "1"), ("0x", "0x"),
    # Timestamps as Go's time.Time prints them.
    ("2001-12-14", "2001-12-14 00:00:00 +0000 UTC"), ("2001-1-2", "2001-01-02 00:00:00 +0000 UTC"),
    ("2001-12-14T21:59:43Z", "2001-12-14 21:59:43 +0000 UTC"),
    ("2001-12-14T21:59:43+00:00", "2001-12-14 21:59:43 +0000 UTC"),
    ("2001-12-14T21:59:43.10-05:00", "2001-12-14 21:59:43.1 -0500 -0500"),
    ("2001-12-14t21:59:43.123456789-07:30", "2001-12-14 21:59:43.123456789 -0730 -0730"),
    ("2001-12-14 21:59:43.10", "2001-12-14 21:59:43.1 +0000 UTC"), ('"2001-12-14"', "2001-12-14"),
    # Structures as compact JSON with sorted keys, the scalars in them read the same way.
    ("{x: yes, y: 1.0, z: 2001-12-14, w: ~, v: 03:00, u: 0777, t: 1e6}",
     '{"t":1000000,"u":511,"v":"03:00","w":null,"x":"yes","y":1,"z":"2001-12-14 00:00:00 +0000 UTC"}'),
    ("[yes, 1.0, on, 012]", '["yes",1,"on",10]'),
    ('[a, {b: 2001-01-01, c: "x<y&z"}]', '["a",{"b":"2001-01-01 00:00:00 +0000 UTC","c":"x\\u003cy\\u0026z"}]'),
    ("{1: x}", '{"1":"x"}'),
]

