"""The calendar's words, written once: month and weekday names for every pattern that reads dates."""

from __future__ import annotations

MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
          "November", "December")
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
# "January|February|...": for regular expressions.
MONTH_NAMES = "|".join(MONTHS)
# Every month by its full name or a usual short form ("jan(?:uary)?", "sep(?:t(?:ember)?)?"), lower case.
MONTH_FORMS = ("jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sep(?:t(?:ember)?)?|"
               "oct(?:ober)?|nov(?:ember)?|dec(?:ember)?")
MONTH_NUMBER = {name.lower(): number for number, name in enumerate(MONTHS, start=1)}
