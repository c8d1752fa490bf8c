"""Adapters for the outside sources of mortgage rates (FRED, Freddie Mac PMMS)
and the rate record they all produce."""
