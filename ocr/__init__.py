"""Paper in: pages from PDFs and images, registration, QR, marks, Tesseract."""
