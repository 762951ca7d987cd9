//! PagerDuty's REST API into incidents.
