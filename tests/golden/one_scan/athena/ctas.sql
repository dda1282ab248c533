CREATE TABLE default.trailbook_scan_00000000000000000000000000000000
WITH (format = 'PARQUET', write_compression = 'SNAPPY', partitioned_by = ARRAY['date_partition'], bucketed_by = ARRAY['eventsource'], bucket_count = 12)
AS SELECT useridentity, eventtime, eventsource, eventname, awsregion, sourceipaddress, useragent, responseelements, additionaleventdata, eventid, eventtype, recipientaccountid, account_partition, region_partition, date_partition
FROM "awsdatacatalog"."default"."cloudtrail"
WHERE date_partition BETWEEN '2026/10/22' AND '2026/10/29' AND eventtime >= '2026-10-22T00:00:00Z' AND eventtime < '2026-10-29T00:00:00Z' AND account_partition IN ('111122223333')
