package cov_test

import data.cov

test_double if cov.double(2) == 4
