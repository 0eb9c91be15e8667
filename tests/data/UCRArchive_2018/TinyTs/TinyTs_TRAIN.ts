# A tiny .ts copy of the Tiny .tsv fixture: same values, same labels.
@problemName TinyTs
@timeStamps false
@missing false
@univariate true
@equalLength true
@seriesLength 5
@classLabel true 1 2
@data
0.5,1.0,1.5,2.0,2.5:1
-1.0,-2.0,-3.0,-4.0,-5.0:2
0.0,0.25,0.5,0.75,1.0:1
