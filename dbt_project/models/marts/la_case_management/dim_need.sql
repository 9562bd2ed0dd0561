-- SEN2 primary / secondary need types (SENtype), with the DfE's labels.
select
    needs.need_type::varchar as need_type,
    needs.need_label::varchar as need_label
from (
    values
    ('SPLD', 'Specific learning difficulty'),
    ('MLD', 'Moderate learning difficulty'),
    ('SLD', 'Severe learning difficulty'),
    ('PMLD', 'Profound and multiple learning difficulty'),
    ('SEMH', 'Social, emotional and mental health'),
    ('SLCN', 'Speech, language and communication needs'),
    ('HI', 'Hearing impairment'),
    ('VI', 'Vision impairment'),
    ('MSI', 'Multi-sensory impairment'),
    ('PD', 'Physical disability'),
    ('ASD', 'Autistic spectrum disorder'),
    ('DS', 'Down syndrome'),
    ('OTH', 'Other difficulty or disability')
) as needs (need_type, need_label)
