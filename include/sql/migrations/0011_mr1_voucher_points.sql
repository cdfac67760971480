-- Mini Recon 1: the open-voucher report compares loyalty points as well as voucher counts, so
-- a load that keeps every voucher but changes their points is caught. 0002 had counts only.
ALTER TABLE mini_recon_1.tbl_report_voucher_open_loyalty
    ADD COLUMN IF NOT EXISTS src_points        bigint,
    ADD COLUMN IF NOT EXISTS trgt_points       bigint,
    ADD COLUMN IF NOT EXISTS points_difference bigint;

COMMENT ON TABLE mini_recon_1.tbl_report_voucher_open_loyalty IS
    'Open vouchers per voucher type (LOYALTY, PROMO...) and their loyalty points, source vs transformed.';
