@problemName TinyTs
@timeStamps false
@missing false
@univariate true
@equalLength true
@seriesLength 5
@classLabel true 1 2
@data
1.0,0.0,-1.0,0.0,1.0:2
3.0,3.0,3.0,3.0,3.0:1
