from tests.test_office import *  # noqa
def test_diag(approved_pdf):
    print(approved_pdf.fetched)
    print(approved_pdf.text)
    print(approved_pdf.boxes, approved_pdf.codes)
