# The grammar file is data; this makes the folder the package matcalc.grammar when installed.
