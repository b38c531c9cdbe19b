package a

x :=
