package cov

double(x) := x * 2

triple(x) := x * 3
