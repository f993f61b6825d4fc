"""Files for people and other systems: tables, CRM imports, the one-pager, the whole build."""
