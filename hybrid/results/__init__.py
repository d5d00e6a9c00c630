"""What a merge hands out: public files, CONSUL and Decidim folders, the workbook, the report.

The only part of `hybrid` that imports reportlab (the report and the entry sheet).
"""
