package b

import rego.v1

y if {
